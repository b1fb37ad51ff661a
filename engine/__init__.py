"""Event-sourced customer-loyalty engine fed by Kafka."""
