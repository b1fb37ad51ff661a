"""Stream wiring (faust): the app, its topics and the ingest agent. No business rules here."""
