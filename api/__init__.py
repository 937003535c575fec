"""The control plane: settings, SQL state, the HTTP API, the reconciler worker and the CLI.

``api.app.create_app(settings, fleet)`` builds the FastAPI app; ``api.reconciler.Reconciler`` drives a
``stacks.Fleet`` (through the ``api.fleet.FleetProtocol`` port) towards the desired state kept in SQL;
``api.cli`` is the ``storestack`` command. Routes only record desired state and read status.
"""
