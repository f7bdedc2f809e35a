"""Which condition a control draw samples with (torch-free: the workflow layer imports it too).

- ``null``: the task's null condition, zeros of its condition's shape (``null_condition``);
- ``shuffled``: another task's condition: task i of the generator's task list gets the condition
  of task (i + 1) mod T, a derangement for T >= 2 (no task keeps its own), fixed by the list's
  order so a rerun draws the same pairs. The candidates keep their own task: its stats denormalise
  them and its harvest fills what the generator does not make.
"""

from __future__ import annotations

SAMPLED = ("null", "shuffled")  # the arms a generator samples (noise is made from checkpoints)


def shuffled_partner(tasks: list[str], task: str) -> str:
    """The task whose condition `task` gets in the shuffled control: the next one of `tasks`,
    cyclically."""
    tasks = list(tasks)
    if task not in tasks:
        raise ValueError(f"shuffled condition of {task!r}: not among the generator's tasks {tasks}")
    if len(tasks) < 2:
        raise ValueError(
            f"shuffled condition of {task!r}: another task's condition needs at least two tasks, "
            f"the generator has {tasks}"
        )
    return tasks[(tasks.index(task) + 1) % len(tasks)]


def condition_expectation(task: str, control: str | None, condition_task: str | None) -> tuple:
    """(what the condition file must record, what the candidates' info records) for a sampler
    drawing the candidates of `task` under `control` (None: the generator's own candidates).

    A sampler's own draw reads the task's own condition; ``null`` the task's null condition;
    ``shuffled`` the condition of `condition_task`, which must be another task. Any other pairing
    is a ValueError naming the flags."""
    if not control:
        if condition_task:
            raise ValueError(
                f"--condition-task {condition_task}: only a shuffled control (--control shuffled) "
                "reads another task's condition"
            )
        return {"task": task, "control": ""}, {}
    if control not in SAMPLED:
        raise ValueError(f"--control {control!r}: expected one of {list(SAMPLED)}")
    if control == "null":
        if condition_task:
            raise ValueError("--condition-task: a null control reads the task's own null condition")
        return {"task": task, "control": "null"}, {"control": "null"}
    if not condition_task or condition_task == task:
        raise ValueError(
            f"--control shuffled for task {task!r} needs --condition-task naming another task "
            f"(found {condition_task!r})"
        )
    info = {"control": "shuffled", "condition_task": condition_task}
    return {"task": condition_task, "control": ""}, info


def add_control_args(parser) -> None:
    """The samplers' ``--control`` / ``--condition-task`` options (argparse `parser`)."""
    parser.add_argument(
        "--control",
        choices=SAMPLED,
        default=None,
        help="an audit arm (condpdiff.conditions.controls): null = --condition is the task's null "
        "condition; shuffled = it is the condition of --condition-task, another task",
    )
    parser.add_argument(
        "--condition-task", default=None, help="--control shuffled: whose condition"
    )


def parsed_expectation(parser, args) -> tuple:
    """`condition_expectation` of a sampler's parsed `args`; a bad pairing is `parser.error`."""
    try:
        return condition_expectation(args.task, args.control, args.condition_task)
    except ValueError as e:
        parser.error(str(e))
