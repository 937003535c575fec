"""Storestack's own toolchain: pinned Go builds of pulumi, the Kubernetes provider, the Kubernetes
control plane, etcd, kwok and versitygw (the tests' S3 object store) (``toolchain.build``), and the
simulated cluster they run as (``toolchain.cluster``). Used by the setup command, the
``storestack cluster`` CLI and the tests."""
