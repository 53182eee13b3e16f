"""The policy-test harness fails each kind of case when the rule says something else."""

from __future__ import annotations

from typing import Any

import pytest

from policies.ttbt2_policies.elasticache import at_rest_encryption, user_group_auth
from tests.policies.test_elasticache import cache, run
from tests.support.policies import (
    UNKNOWN,
    assert_compliant,
    assert_missing,
    assert_unknown_is_a_note,
    assert_violation,
    assert_wrong_type,
    without_none,
)

UNENCRYPTED: dict[str, Any] = {"atRestEncryptionEnabled": False}


def test_violation_check_needs_the_message_and_the_policy() -> None:
    found = run(at_rest_encryption, cache(**UNENCRYPTED))
    assert_violation(found, at_rest_encryption, "atRestEncryptionEnabled is false", mandatory=True)
    with pytest.raises(AssertionError):
        assert_violation(found, at_rest_encryption, "some other complaint")
    with pytest.raises(AssertionError):
        assert_violation(found, user_group_auth, "atRestEncryptionEnabled is false")
    with pytest.raises(AssertionError):
        assert_violation([], at_rest_encryption, "atRestEncryptionEnabled is false")


def test_compliant_and_missing_checks_refuse_a_violation() -> None:
    found = run(at_rest_encryption, cache(atRestEncryptionEnabled=None))
    with pytest.raises(AssertionError):
        assert_compliant(found)
    with pytest.raises(AssertionError):
        assert_missing(found, at_rest_encryption, None)
    assert_missing(found, at_rest_encryption, "AWS defaults it to false")


def test_wrong_type_and_unknown_checks_need_their_kind_of_finding() -> None:
    violation = run(at_rest_encryption, cache(**UNENCRYPTED))
    with pytest.raises(AssertionError):
        assert_wrong_type([], "must be true or false")
    with pytest.raises(AssertionError):
        assert_unknown_is_a_note(violation, at_rest_encryption)
    assert_unknown_is_a_note(run(at_rest_encryption, cache(kmsKeyId=UNKNOWN)), at_rest_encryption)


def test_without_none_removes_the_properties_set_to_none() -> None:
    assert without_none({"a": 1, "b": 2}, {"b": None, "c": 3}) == {"a": 1, "c": 3}
