"""HTTP routes; each module holds one ``router`` that ``api.app.create_app`` includes."""
