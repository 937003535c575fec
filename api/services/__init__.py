"""Services: the api layer's use cases, called by the routes and the CLI; no HTTP, no Pulumi runs."""
