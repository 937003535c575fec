"""Engine errors as users see them: one plain line, no traceback, no CLI boilerplate, bounded."""

from __future__ import annotations

from stacks.failures import PLAIN_LIMIT, classify, plain

TRACEBACK = """error: Program failed with an unhandled exception:
Traceback (most recent call last):
  File "/srv/storestack/stacks/program.py", line 120, in store_program
    k8s.core.v1.Namespace(
AttributeError: module 'pulumi_kubernetes.core.v1' has no attribute 'Namespace'
"""


def test_a_traceback_becomes_the_exception_it_raised() -> None:
    message = plain(TRACEBACK)
    raised = "AttributeError: module 'pulumi_kubernetes.core.v1' has no attribute 'Namespace'"
    assert message == f"the store program raised {raised}"
    assert "File " not in message and "/srv/" not in message


def test_boilerplate_goes_and_parts_join_in_one_line() -> None:
    raw = 'error: error: resource x was not created: PVC "x" is invalid\n | error: update failed\n\x1b[0m'
    assert plain(raw) == 'resource x was not created: PVC "x" is invalid'


def test_long_messages_are_cut() -> None:
    message = plain("word " * 500)
    assert len(message) == PLAIN_LIMIT and message.endswith("…") and "\n" not in message


def test_classification_of_outages_and_spec_errors() -> None:
    assert classify("dial tcp 127.0.0.1:6443: connect: connection refused") == ("cluster_unreachable", True)
    assert classify("etcdserver: leader changed") == ("cluster_unavailable", True)
    assert classify('Deployment.apps "x" is invalid: spec.replicas') == ("invalid_spec", False)
    # a failed pull is retried (registry/DNS hiccups); an image that cannot exist is not
    assert classify("containers with unready status: [mysql] ErrImagePull") == ("image_pull_failed", True)
    assert classify("Back-off pulling image: ImagePullBackOff") == ("image_pull_failed", True)
    assert classify("ErrImagePull: manifest unknown: mysql:9.9.9") == ("image_missing", False)
    assert classify("InvalidImageName: couldn't parse image reference") == ("image_missing", False)
