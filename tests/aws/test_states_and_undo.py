"""What the models say about states in answers and about undoing a call (no service named in the code)."""

from __future__ import annotations

from compat_diff.aws.shapes import state_members
from compat_diff.aws.undo import undo_of, wait_state, wait_step


def test_a_state_given_as_a_structure_is_found_with_the_member_holding_it():
    assert ("State", "Name") in state_members("ec2", "DescribeInstances")  # State: {Code, Name}
    assert ("Status", "State") in state_members("athena", "GetQueryExecution")  # its one enum member
    assert ("TableStatus", "") in state_members("dynamodb", "DescribeTable")
    assert state_members("sqs", "GetQueueUrl") == frozenset()


def test_the_undo_verb_comes_from_a_table_checked_against_the_model():
    pairs = {
        ("ec2", "RunInstances"): "TerminateInstances",
        ("ec2", "AllocateAddress"): "ReleaseAddress",
        ("ec2", "AttachInternetGateway"): "DetachInternetGateway",
        ("ec2", "AssociateRouteTable"): "DisassociateRouteTable",
        ("ec2", "RegisterImage"): "DeregisterImage",
        ("iam", "PutRolePolicy"): "DeleteRolePolicy",
        ("iam", "AddUserToGroup"): "RemoveUserFromGroup",
        ("iam", "CreateAccessKey"): "DeleteAccessKey",
    }
    for (service, operation), expected in pairs.items():
        undo = undo_of(service, operation)
        assert undo is not None and undo.undo == expected, (operation, undo)
    # No antonym in the model, or not a verb of the table: nothing to undo.
    assert undo_of("s3", "PutBucketVersioning") is None
    assert undo_of("sqs", "SendMessage") is None
    assert undo_of("ec2", "StartInstances") is None
    assert undo_of("iam", "Address") is None
    assert undo_of("nosuchservice", "CreateThing") is None


def test_the_waiter_after_terminating_polls_until_terminated():
    step = wait_step("ec2", "InstanceTerminated", {"InstanceIds": ["i-1"]})
    assert step is not None and step.operation == "DescribeInstances"
    assert step.params == {"InstanceIds": ["i-1"]}

    def answer(state: str) -> dict:
        return {"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": state}}]}]}

    assert wait_state("ec2", "InstanceTerminated", answer("terminated"), None) == "success"
    assert wait_state("ec2", "InstanceTerminated", answer("shutting-down"), None) == "retry"
    assert wait_state("ec2", "InstanceTerminated", answer("pending"), None) == "failure"
    # Parameters that do not fill the waiter's call: no wait.
    assert wait_step("ec2", "InstanceTerminated", {"GroupId": "sg-1"}) is None
