"""No config value or path reaches a shell as code: `results_dir` and the names that become paths
are checked before any job (named errors), every path in every rule's shell command is quoted
(`{input.x:q}`, ...), and a results folder with a space in it really works."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# tests/pipeline is on sys.path (pytest prepend mode)
from test_workflow import ROOT, TEXT_TABLES, smoke, snakemake

from condpdiff.pipeline import config_paths, settings
from condpdiff.pipeline.config import ConfigError, check
from condpdiff.pipeline.paths import Paths
from condpdiff.text.tasks import get_task

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
RULE_FILES = sorted(p for p in (ROOT / "workflow/rules").glob("*.smk") if "shell:" in p.read_text())
# A results folder part with a space; a shell word holding "space_q7" must hold the whole folder.
SPACE = "with space_q7"


def overlay(tmp_path: Path, results_dir: str, name: str = "overlay.yaml") -> Path:
    """A one-key overlay (--configfile base overlay) setting `results_dir`."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"results_dir": results_dir}))
    return path


def config_error(config: dict) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        check(config, SCHEMA, get_task)
    return err.value


# --- the config check: results_dir and the names that become paths ---


def test_a_shell_payload_in_results_dir_is_refused_and_never_runs(tmp_path):
    """The issue's probe, with a marker of our own: Snakemake stops at the config check, naming the
    key and the characters, and no job (so no shell) ever runs."""
    marker = tmp_path / "pwned"
    payload = f"{tmp_path}/x;touch {marker};"
    target = Paths(payload).task(task="syn_sentiment")
    out = snakemake(
        "--cores", "1", target, "--configfile", "config/smoke.yaml", str(overlay(tmp_path, payload))
    )
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "config key 'results_dir'" in text and "';'" in text, text[-2000:]
    assert not marker.exists()
    assert not (tmp_path / "x").exists()


def test_results_dir_with_a_parent_component_is_refused(smoke_config):
    smoke_config["results_dir"] = "../../tmp/x"
    err = config_error(smoke_config)
    assert err.key == "results_dir" and "'..'" in str(err) and "../../tmp/x" in str(err)


def test_results_dir_that_is_a_file_is_refused_naming_the_key(tmp_path):
    """Before: a 40-line traceback without the key. Now one line naming it, from Snakemake too."""
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder\n")
    out = snakemake("-n", "--configfile", "config/smoke.yaml", str(overlay(tmp_path, str(a_file))))
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert f"config key 'results_dir': found {str(a_file)!r}, which is an existing file" in text, (
        text[-2000:]
    )
    assert "Traceback" not in text


def test_results_dir_inside_a_file_is_refused(smoke_config, tmp_path):
    (tmp_path / "f").write_text("")
    smoke_config["results_dir"] = str(tmp_path / "f" / "results")
    err = config_error(smoke_config)
    assert err.key == "results_dir" and "inside" in str(err) and "existing file" in str(err)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "expected a folder"),
        ("/", "expected a folder"),
        (" results/x", "whitespace"),
        ("~/results", "'~' is not expanded"),
        ("results/$(id)", "'$'"),
        ("results/`id`", "'`'"),
        ("results/{task}", "'{'"),
        ("results/a|b", "'|'"),
        ("results/a\nb", "'\\n'"),
    ],
)
def test_results_dir_refusals_say_what_was_found_and_what_is_allowed(smoke_config, value, says):
    smoke_config["results_dir"] = value
    err = config_error(smoke_config)
    assert err.key == "results_dir" and says in str(err) and repr(value) in str(err)


@pytest.mark.parametrize(
    "value", ["results/with space", "/scratch/me/condpdiff", "./results/a-b_c.d+e@f=g,h:i%j"]
)
def test_results_dir_accepts_spaces_absolute_and_plain_paths(smoke_config, value):
    smoke_config["results_dir"] = value
    check(smoke_config, SCHEMA, get_task)


@pytest.mark.parametrize("section", ["backbones", "custom_tasks"])
def test_a_name_that_becomes_a_path_part_is_refused_by_the_schema(smoke_config, section):
    key = next(iter(smoke_config[section]))
    smoke_config[section]["x;rm -rf"] = smoke_config[section].pop(key)
    err = config_error(smoke_config)
    assert err.key == section and "'x;rm -rf'" in str(err) and "letters, digits and _" in str(err)


@pytest.mark.parametrize("section", ["bases", "styles"])
def test_an_image_base_or_style_name_is_refused_by_the_schema(section):
    config = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    key = next(iter(config["image"][section]))
    config["image"][section]["../up"] = config["image"][section].pop(key)
    err = config_error(config)
    assert err.key == f"image.{section}" and "'../up'" in str(err)


def test_a_task_glue_dir_may_not_leave_the_data_folder(smoke_config):
    smoke_config["custom_tasks"]["syn_sentiment"]["glue_dir"] = "../elsewhere"
    err = config_error(smoke_config)
    assert err.key == "custom_tasks.syn_sentiment.glue_dir" and "'..'" in str(err)


def test_a_user_folder_with_shell_syntax_is_refused(smoke_config):
    smoke_config["backbones"]["tiny"] = {
        "model": "/models/bert;reboot",
        "target_modules": ["query"],
    }
    err = config_error(smoke_config)
    assert err.key == "backbones.tiny.model" and "';'" in str(err)


def test_every_path_key_is_checked():
    """Every config value that becomes a path, each with shell syntax, is reported by its key."""
    bad = "x;y"
    config = {
        "results_dir": bad,
        "custom_tasks": {"t": {"glue_dir": bad}},
        "data": {"glue_dir": bad},
        "backbones": {"b": {"model": bad}},
        "conditions": {"sentence_model": bad},
        "image": {
            "bases": {"p": {"model": bad}},
            "styles": {"s": {"folder": bad}},
            "content": {"folder": bad},
            "fid": {"weights_path": bad},
            "condition": {"weights": bad},
        },
    }
    problems = list(config_paths.path_problems(config))
    assert [key for key, _ in problems] == [
        "results_dir", "custom_tasks.t.glue_dir", "data.glue_dir", "backbones.b.model",
        "conditions.sentence_model", "image.bases.p.model", "image.styles.s.folder",
        "image.content.folder", "image.fid.weights_path", "image.condition.weights",
    ]  # fmt: skip
    assert all("';'" in problem for _, problem in problems)


# --- every path in every shell command is quoted ---

LIST_RULES = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (
    ConfigSettings, OutputSettings, ResourceSettings, StorageSettings,
)

with SnakemakeApi(OutputSettings()) as api:
    wf = api.workflow(
        resource_settings=ResourceSettings(),
        config_settings=ConfigSettings(configfiles=[Path(p) for p in sys.argv[1:]]),
        storage_settings=StorageSettings(),
        snakefile=Path("Snakefile"),
        workdir=Path("."),
    )
    rules = [(r.name, str(r.snakefile), r.shellcmd) for r in wf._workflow.rules if r.shellcmd]
print("RULES " + json.dumps(rules))
"""


@pytest.fixture(scope="module")
def shell_commands(tmp_path_factory) -> list[tuple[str, str, str]]:
    """(rule, rule file, shell command template) of every shell rule the text and the image
    smoke configs load, as Snakemake parsed them (so SCORE-style shared commands are included)."""
    tmp = tmp_path_factory.mktemp("rules")
    rules = {}
    for config in ("config/smoke.yaml", "config/smoke_image.yaml"):
        over = overlay(tmp, str(tmp / "results"), name=Path(config).name)
        command = [sys.executable, "-c", LIST_RULES, config, str(over)]
        out = subprocess.run(
            command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr[-3000:]
        line = next(x for x in out.stdout.splitlines() if x.startswith("RULES "))
        for name, snakefile, cmd in json.loads(line[len("RULES ") :]):
            rules[name] = (name, snakefile, cmd)
    return list(rules.values())


def test_argument_builders_quote_every_path():
    """The fragments built in Python (score_args' `extra`, file lists, flags) quote each word."""
    from snakemake.iocontainers import InputFiles

    files = InputFiles(["/r/a b/cell.json", "/r/x;y", "/r/z"])
    files._set_name("cell", 0)
    files._set_name("lists", 1, 3)
    quoted = settings.quoted_files(files)
    extra = "--row-from {input.cell}"  # as score_args formats a rule's `extra`
    assert extra.format(input=quoted) == "--row-from '/r/a b/cell.json'"
    assert quoted.lists == "'/r/x;y' /r/z" and settings.words(["a b", "c"]) == "'a b' c"
    assert shlex.split(settings.flags({"out_dir": "/r/a b", "odd key;": 1})) == [
        "--out-dir", "/r/a b", "--odd key;", "1",
    ]  # fmt: skip


# {input}, {input.x}, {output[0]}, {log}, ... optionally with a format spec after ':'
PATH_FIELD = re.compile(r"\{((?:input|output|log)(?:\.[A-Za-z_]\w*|\[\d+\])?)(?::([^}]*))?\}")


def unquoted_fields(cmd: str) -> list[str]:
    """The {input...}/{output...}/{log...} fields of a shell command without the `:q` modifier."""
    return [m.group(0) for m in PATH_FIELD.finditer(cmd) if m.group(2) != "q"]


def test_unquoted_fields_finds_what_it_should():
    cmd = "x {input.a:q} --b {input.b} {output} {output.c:q} > {log} {log:q} {params.p} {input[0]}"
    assert unquoted_fields(cmd) == ["{input.b}", "{output}", "{log}", "{input[0]}"]


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_every_path_in_a_shell_command_is_quoted(shell_commands, rule_file):
    mine = [(name, cmd) for name, snakefile, cmd in shell_commands if Path(snakefile) == rule_file]
    assert mine, f"no shell rule of {rule_file.name} was loaded by the smoke configs"
    bad = {name: fields for name, cmd in mine if (fields := unquoted_fields(cmd))}
    assert not bad, f"{rule_file.name}: paths reach the shell unquoted (use {{input.x:q}}): {bad}"


def printed_commands(text: str) -> dict[str, list[str]]:
    """rule -> the shell commands a dry run with --printshellcmds printed for its jobs."""
    out: dict[str, list[str]] = {}
    rule = None
    for line in text.splitlines():
        m = re.match(r"(?:local)?rule (\w+):$", line.strip())
        if m:
            rule = m.group(1)
        elif line.startswith("Shell command: ") and rule and line != "Shell command: None":
            out.setdefault(rule, []).append(line[len("Shell command: ") :])
    return out


def split_paths(commands: dict[str, list[str]], root: str) -> dict[str, list[str]]:
    """rule -> shell words (after the shell's own splitting) that hold only part of `root`."""
    bad = {}
    for rule, cmds in commands.items():
        words = [w for cmd in cmds for w in shlex.split(cmd) if "space_q7" in w and root not in w]
        if words:
            bad[rule] = words[:3]
    return bad


# leave-one-out with a content condition, a data-conditioned direct generator
# (encode_data_condition, the unseen autoencoder, no-LoRA cells) and one exported adapter
UNSEEN = {
    "targets": ["table_unseen"],
    "leave_one_out": ["syn_topic"],
    "generator": {"condition": "sentence-twoshot"},
    "compare_generators": [
        {"kind": "direct", "condition": "sentence-data", "sampler": "k1-layer-w0.75"}
    ],
}
ADAPTER = {
    "backbone": "tiny", "rank": 1, "n": 20, "layers": "all", "norm": "task", "unseen": "",
    "kind": "pdiff", "condition": "sentence-twoshot", "sampler": "ddim20", "task": "syn_topic",
    "sel_n": 64, "sel_seed": 0, "sel_pool": "", "sel_race": "", "ftseed": "", "genseed": "",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "changes"),
    [
        ("config/smoke.yaml", {"targets": [*TEXT_TABLES, "analyses"]}),
        ("config/smoke.yaml", {"targets": ["table1"], "scoring": {"dev_all_candidates": True}}),
        ("config/smoke.yaml", UNSEEN),
        (
            "config/smoke_image.yaml",
            {"targets": ["table2", "table2_cross", "image_screen", "analyses"]},
        ),
    ],
    ids=["text", "text-dev-all", "text-unseen-adapter", "image"],
)
def test_dry_run_passes_a_results_dir_with_a_space_as_one_word(tmp_path, config, changes):
    """Every command of a dry run (params included: folders, file lists) keeps a results folder
    with a space in one shell word. The text runs together reach every text rule."""
    root = str(tmp_path / SPACE / "results")
    over = tmp_path / "overlay.yaml"
    over.write_text(yaml.safe_dump({"results_dir": root, **changes}))
    adapter = Paths(root).adapter(**ADAPTER) if changes is UNSEEN else None
    out = snakemake(
        "-n", "-p", "all", *([adapter] if adapter else []), "--configfile", config, str(over)
    )
    assert out.returncode == 0, out.stderr[-3000:]
    commands = printed_commands(out.stdout)
    assert len(commands) > 10 and sum(map(len, commands.values())) > 20
    bad = split_paths(commands, root)
    assert not bad, f"rules whose commands split {root!r} into several shell words: {bad}"


def test_split_paths_catches_an_unquoted_path():
    root = f"/tmp/{SPACE}/results"
    commands = {
        "ok": [f"x --out {shlex.quote(root + '/a.json')}"],
        "bad": [f"x --out {root}/a.json"],
    }
    assert split_paths(commands, root) == {"bad": ["space_q7/results/a.json"]}


@pytest.mark.slow
def test_a_real_job_runs_under_a_results_dir_with_a_space(tmp_path):
    """Before: exit 2 and an empty log. Now write_task and encode_condition (onehot) run, their
    outputs land under the folder with the space, and encode_condition's log holds its report."""
    root = str(tmp_path / SPACE / "results")
    config = smoke()
    config["results_dir"] = root
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(config))
    P = Paths(root)
    target = P.condition(condition="onehot", task="syn_sentiment")
    out = snakemake("--cores", "1", target, "--configfile", str(path))
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert Path(target).is_file() and Path(P.task(task="syn_sentiment")).is_file()
    log = Path(P.log("encode_condition", "onehot_syn_sentiment"))
    assert "syn_sentiment onehot" in log.read_text()
