"""Write one task's definition (built-in or from the config's custom_tasks) to a JSON file.

Later steps read the task from this file, so they need no config and a change to a task
definition is a change to an input file.
"""

from __future__ import annotations

import argparse

import yaml

from condpdiff.text.tasks import get_task, task_to_dict
from condpdiff.util.atomic import write_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--task", required=True, help="task key, e.g. sst2")
    p.add_argument(
        "--custom-tasks", default="{}", help="YAML/JSON mapping of custom task definitions"
    )
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    custom = yaml.safe_load(a.custom_tasks) or {}
    write_json(a.out, task_to_dict(get_task(a.task, {"custom_tasks": custom})))


if __name__ == "__main__":
    main()
