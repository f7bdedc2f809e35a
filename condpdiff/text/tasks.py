"""Task registry: the paper's six GLUE tasks, plus any task a config defines.

A task says where its data lives (a folder in the classic GLUE layout and/or a hub
dataset), which columns hold the text and the label, how many labels it has (1 = regression),
which metric scores it, and the condition text (a description plus two worked examples)
that the generator is conditioned on. Adding a task is config-only: give the same fields
under ``custom_tasks`` in the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TsvLayout:
    """How to read a task's tsv files: header or not, column names or indices.

    ``columns``, where given, is every column of the file in order (names; for a file without a
    header, their count is what is checked): a header with other columns is refused. Left out,
    a file may carry columns the task does not read (GLUE's ids, STS-B's genre and source).
    """

    header: bool = True
    text_columns: tuple = ("sentence",)  # names (header) or integer indices (no header)
    label_column: str | int = "label"
    label_map: dict | None = None  # raw label string -> int; None = numeric labels
    columns: tuple | None = None  # every column, exhaustively; None = extra columns allowed


@dataclass(frozen=True)
class Task:
    name: str  # short key used in paths, e.g. "sst2"
    num_labels: int  # 1 = regression (STS-B)
    metric: str  # matthews | pearson | f1 | accuracy
    description: str
    examples: tuple = ()  # ((text, label_text), (text, label_text))
    glue_dir: str | None = None  # folder name in the classic GLUE layout, e.g. "SST-2"
    tsv: TsvLayout = field(default_factory=TsvLayout)
    hub_path: str | None = None  # datasets.load_dataset(hub_path, hub_name)
    hub_name: str | None = None
    hub_text_columns: tuple = ("sentence",)
    hub_label_column: str = "label"
    hub_dev_split: str = "validation"

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1

    def condition_text(self, variant: str = "twoshot") -> str:
        """The text the condition encoder sees: description only, or description + two examples."""
        head = f"This is task '{self.name}'. {self.description}"
        if variant == "desc":
            return head
        if variant != "twoshot":
            raise ValueError(f"condition text variant must be 'desc' or 'twoshot', got {variant!r}")
        shots = " ".join(
            f"Example {i + 1}: {text} Label: {label}."
            for i, (text, label) in enumerate(self.examples)
        )
        return f"{head} {shots}".strip()


_ENTAIL = {"entailment": 0, "not_entailment": 1}

GLUE_TASKS: dict[str, Task] = {
    "sst2": Task(
        name="sst2",
        num_labels=2,
        metric="accuracy",
        description=(
            "Decide whether the sentiment of a single movie-review sentence is positive "
            "or negative."
        ),
        examples=(
            ("Sentence: a gorgeous, witty, seductive movie.", "Positive"),
            (
                "Sentence: the plot is nothing but boilerplate cliches from start to finish.",
                "Negative",
            ),
        ),
        glue_dir="SST-2",
        tsv=TsvLayout(text_columns=("sentence",), label_column="label"),
        hub_path="nyu-mll/glue",  # the bare "glue" redirect is gone (404)
        hub_name="sst2",
        hub_text_columns=("sentence",),
    ),
    "rte": Task(
        name="rte",
        num_labels=2,
        metric="accuracy",
        description=(
            "Decide whether the first text entails the second (recognising textual entailment)."
        ),
        examples=(
            (
                "Premise: A man is playing a guitar on stage. Hypothesis: A man is performing "
                "music.",
                "Entailment",
            ),
            (
                "Premise: The shop closed in 1998. Hypothesis: The shop is still open today.",
                "Not entailment",
            ),
        ),
        glue_dir="RTE",
        tsv=TsvLayout(
            text_columns=("sentence1", "sentence2"), label_column="label", label_map=_ENTAIL
        ),
        hub_path="nyu-mll/glue",  # the bare "glue" redirect is gone (404)
        hub_name="rte",
        hub_text_columns=("sentence1", "sentence2"),
    ),
    "mrpc": Task(
        name="mrpc",
        num_labels=2,
        metric="f1",
        description="Decide whether two news sentences are paraphrases of each other.",
        examples=(
            (
                "Sentence 1: The company posted a profit of $2 billion. Sentence 2: It earned $2 "
                "billion.",
                "Paraphrase",
            ),
            (
                "Sentence 1: Rain is expected on Monday. Sentence 2: The team won its final match.",
                "Not paraphrase",
            ),
        ),
        glue_dir="MRPC",
        tsv=TsvLayout(text_columns=("#1 String", "#2 String"), label_column="Quality"),
        hub_path="nyu-mll/glue",  # the bare "glue" redirect is gone (404)
        hub_name="mrpc",
        hub_text_columns=("sentence1", "sentence2"),
    ),
    "cola": Task(
        name="cola",
        num_labels=2,
        metric="matthews",
        description="Decide whether an English sentence is grammatically acceptable.",
        examples=(
            ("Sentence: The cat sat on the mat.", "Acceptable"),
            ("Sentence: The more books I read the more I the smarter.", "Unacceptable"),
        ),
        glue_dir="CoLA",
        tsv=TsvLayout(
            header=False,
            text_columns=(3,),
            label_column=1,
            columns=("source", "label", "original_label", "sentence"),
        ),
        hub_path="nyu-mll/glue",  # the bare "glue" redirect is gone (404)
        hub_name="cola",
        hub_text_columns=("sentence",),
    ),
    "qnli": Task(
        name="qnli",
        num_labels=2,
        metric="accuracy",
        description="Decide whether a sentence contains the answer to a question.",
        examples=(
            (
                "Question: Where is the Eiffel Tower? Sentence: The Eiffel Tower stands in Paris.",
                "Entailment",
            ),
            (
                "Question: Who wrote Hamlet? Sentence: Hamlet is often performed in London.",
                "Not entailment",
            ),
        ),
        glue_dir="QNLI",
        tsv=TsvLayout(
            text_columns=("question", "sentence"), label_column="label", label_map=_ENTAIL
        ),
        hub_path="nyu-mll/glue",  # the bare "glue" redirect is gone (404)
        hub_name="qnli",
        hub_text_columns=("question", "sentence"),
    ),
    "stsb": Task(
        name="stsb",
        num_labels=1,
        metric="pearson",
        description=(
            "Rate how similar in meaning two sentences are, from 0 (unrelated) to 5 (equivalent)."
        ),
        examples=(
            ("Sentence 1: A plane is taking off. Sentence 2: An air plane is taking off.", "5.0"),
            (
                "Sentence 1: A woman is slicing an onion. Sentence 2: A man is playing a flute.",
                "0.0",
            ),
        ),
        glue_dir="STS-B",
        tsv=TsvLayout(text_columns=("sentence1", "sentence2"), label_column="score"),
        hub_path="nyu-mll/glue",  # the bare "glue" redirect is gone (404)
        hub_name="stsb",
        hub_text_columns=("sentence1", "sentence2"),
    ),
}


def task_from_config(name: str, spec: dict) -> Task:
    """Build a Task from a config's ``custom_tasks.<name>`` mapping (schema-validated upstream)."""
    tsv = spec.get("tsv", {})
    layout = TsvLayout(
        header=tsv.get("header", True),
        text_columns=tuple(tsv.get("text_columns", ("sentence",))),
        label_column=tsv.get("label_column", "label"),
        label_map=tsv.get("label_map"),
        columns=tuple(tsv["columns"]) if tsv.get("columns") is not None else None,
    )
    hub = spec.get("hub", {})
    return Task(
        name=name,
        num_labels=int(spec["num_labels"]),
        metric=spec["metric"],
        description=spec["description"],
        examples=tuple((e["text"], e["label"]) for e in spec.get("examples", [])),
        glue_dir=spec.get("glue_dir", name),
        tsv=layout,
        hub_path=hub.get("path"),
        hub_name=hub.get("name"),
        hub_text_columns=tuple(hub.get("text_columns", layout.text_columns)),
        hub_label_column=hub.get("label_column", "label"),
        hub_dev_split=hub.get("dev_split", "validation"),
    )


def get_task(name: str, config: dict | None = None) -> Task:
    """Look a task up: the config's custom tasks first, then the built-in GLUE tasks."""
    custom = (config or {}).get("custom_tasks", {}) or {}
    if name in custom:
        return task_from_config(name, custom[name])
    if name in GLUE_TASKS:
        return GLUE_TASKS[name]
    known = sorted(set(GLUE_TASKS) | set(custom))
    raise KeyError(
        f"unknown task {name!r}: known tasks are {known} (add it under 'custom_tasks' in the "
        "config)"
    )


def task_to_dict(task: Task) -> dict:
    """A JSON-ready dict that ``task_from_dict`` turns back into the same Task."""
    import dataclasses

    return dataclasses.asdict(task)


def task_from_dict(d: dict) -> Task:
    d = dict(d)
    tsv = dict(d.pop("tsv"))
    tsv["text_columns"] = tuple(tsv["text_columns"])
    if tsv.get("columns") is not None:
        tsv["columns"] = tuple(tsv["columns"])
    d["examples"] = tuple(tuple(e) for e in d.get("examples", ()))
    d["hub_text_columns"] = tuple(d.get("hub_text_columns", ()))
    return Task(tsv=TsvLayout(**tsv), **d)


def load_task_file(path) -> Task:
    """Read a task written by ``python -m condpdiff.text.write_task`` (the rule ``write_task``)."""
    from condpdiff.pipeline.artifacts import artifact_error, load_json

    data = load_json(path, "task file", keys=("name", "num_labels", "metric", "tsv"))
    try:
        return task_from_dict(data)
    except TypeError as e:
        raise artifact_error(
            path, "task file with unknown fields", "the fields of condpdiff.text.tasks.Task", str(e)
        ) from None
