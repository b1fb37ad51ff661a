from hypothesis import settings

pytest_plugins = ["tests.support.fixtures"]

# The suite runs on shared 2-core machines: a property's example may take longer than
# hypothesis's default 200 ms deadline under load without anything being wrong with it.
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")
