"""Storestack's container images, built from Debian packages (and npm) into OCI archives: the stand-ins
of the real node, and the Medusa server image that users load into their clusters too.

The real node (``toolchain/``) runs actual pods, but no container registry is reachable from the
machines Storestack is tested on, so the official ``mysql`` and ``wordpress`` images cannot be
pulled. ``python -m images.build`` (part of setup) builds look-alikes instead, which
``toolchain.node.RealNode`` finds with ``images.catalog.archives`` and imports into its containerd, under
names of our own (``localhost/storestack/...``, never an official name):

- ``pause``: a tiny static Go program of our own, the pod sandbox's PID 1 (reaps zombies, exits 0
  on SIGTERM/SIGINT);
- ``mysql-standin``: Debian trixie's MariaDB behind an entrypoint of our own that honours the
  official mysql image's contract (root start, ``MYSQL_ROOT_PASSWORD``/``MYSQL_DATABASE``/
  ``MYSQL_USER``/``MYSQL_PASSWORD`` applied once on an empty datadir, then ``mariadbd`` as mysql);
- ``wordpress-standin``: Debian trixie's Apache + mod_php 8.4 + WordPress 6.8 behind an entrypoint
  of our own that honours the official wordpress image's contract (any uid, copies WordPress into
  an empty ``/var/www/html``, a ``wp-config.php`` that reads ``WORDPRESS_*`` at run time);
- ``coredns``: the CoreDNS binary the toolchain builds, for the node's cluster DNS;
- ``traefik``: the Traefik v3 binary the toolchain builds, the node's ingress controller (the
  version k3s ships);
- ``postgres-standin``: Debian trixie's PostgreSQL 17 behind an entrypoint of our own that honours
  the official postgres image's contract (root start, ``POSTGRES_PASSWORD``/``POSTGRES_USER``/
  ``POSTGRES_DB``/``PGDATA`` applied once on an empty data directory, then ``postgres`` as postgres);
- ``medusa``: not a stand-in but the Medusa store's real image: Debian trixie's Node.js 20 and the
  project's own Medusa 2.21.2 application (``recipes/medusa/app``), installed from npm and built
  (``medusa build``) at image-build time, behind the ``storestack-medusa`` entrypoint (``start``,
  ``setup``). ``storestack images build medusa --output FILE`` copies its archive out for a cluster.

What they do NOT prove: they are Debian builds, not the official images. MariaDB 11.8 stands in for
MySQL 8.4 (different auth plugins, defaults and SQL corners), PHP 8.4 for the official image's PHP,
Debian's patched WordPress 6.8.x for upstream's, and our entrypoints for the official
``docker-entrypoint.sh``/``wp-config-docker.php``. There is no WooCommerce and no WP-CLI in any of
them (neither is packaged anywhere reachable), image pulls and registry auth are never exercised,
and nothing here is scanned or signed. Use them to run real pods, not to certify production images.
"""
