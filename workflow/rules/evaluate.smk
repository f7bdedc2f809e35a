"""Scoring, selection without leakage, baselines, adapter export and the paper's tables.

Every number in a table is one cached cell file under R/scores (docs/formats.md); the tables
only read them, so with every cell present `snakemake table1` trains and scores nothing.
"""

import os

from condpdiff import table_specs as ts

SCORES = os.path.join(R, "scores/{backbone}/r{rank}")
SCORES_GEN = os.path.join(SCORES, "n{n}/layers-{layers}/norm-{norm}")
CANDIDATES = os.path.join(GEN_DIR, "cond-{condition}/{sampler}")
SCORED = os.path.join(SCORES_GEN, "cond-{condition}/{sampler}/{task}")
SELECTED = os.path.join(SCORED, "sel{sel_n}-seed{sel_seed}{sel_pool}")
TASK_FILE = os.path.join(R, "tasks/{task}.json")
LOGS = os.path.join(R, "logs")
BENCHMARKS = os.path.join(R, "benchmarks")
CELL_TAG = "{backbone}_r{rank}_n{n}_layers-{layers}_norm-{norm}_cond-{condition}_{sampler}_{task}"
SEL_TAG = f"{CELL_TAG}_sel{{sel_n}}-seed{{sel_seed}}{{sel_pool}}"
RECON_TAG = "{backbone}_r{rank}_n{n}_layers-{layers}_norm-{norm}_{task}"
TABLES = os.path.join(R, "tables")
SCORE_RUNTIME = config.get("resources", {}).get("score_runtime", 60)
HARVEST_EVERY = config.get("scoring", {}).get("harvest_every", 1)


rule score_harvest:
    input:
        params=lambda w: harvest_path(w.backbone, w.rank, w.task),
        task=TASK_FILE,
        data=task_data_files,
        backbone=backbone_input,
    output:
        scores=os.path.join(SCORES, "{task}/harvest_scores.json"),
    log:
        os.path.join(LOGS, "score_harvest/{backbone}_r{rank}_{task}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "score_harvest/{backbone}_r{rank}_{task}.tsv")
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=SCORE_RUNTIME,
        mem_mb=8000,
    params:
        model=backbone_model,
        source="hub" if config["data"]["source"] == "hub" else "local",
        glue_dir=glue_dir(),
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        settings=ts.scoring_flags(config, ["dev"]),
        every=HARVEST_EVERY,
        code=code("score"),
    shell:
        "python -m condpdiff.score --model {params.model} --task-file {input.task}"
        " --data-source {params.source} --glue-dir {params.glue_dir:q} --rank {wildcards.rank}"
        " --alpha {params.alpha} --target-modules {params.target_modules} --params {input.params}"
        " --every {params.every} --head file {params.settings} --out {output.scores} > {log} 2>&1"


rule select_original:
    input:
        scores=os.path.join(SCORES, "{task}/harvest_scores.json"),
    output:
        cell=os.path.join(SCORES, "n{n}/{task}/original.json"),
    log:
        os.path.join(LOGS, "select_original/{backbone}_r{rank}_n{n}_{task}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "select_original/{backbone}_r{rank}_n{n}_{task}.tsv")
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=code("selection"),
    shell:
        "python -m condpdiff.selection original --scores {input.scores} --n {wildcards.n}"
        " --out {output.cell} > {log} 2>&1"


rule score_soup:
    input:
        params=lambda w: harvest_path(w.backbone, w.rank, w.task),
        task=TASK_FILE,
        data=task_data_files,
        backbone=backbone_input,
    output:
        scores=os.path.join(SCORES, "n{n}/{task}/soup_scores.json"),
        cell=os.path.join(SCORES, "n{n}/{task}/soup.json"),
    log:
        os.path.join(LOGS, "score_soup/{backbone}_r{rank}_n{n}_{task}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "score_soup/{backbone}_r{rank}_n{n}_{task}.tsv")
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=SCORE_RUNTIME,
        mem_mb=8000,
    params:
        model=backbone_model,
        source="hub" if config["data"]["source"] == "hub" else "local",
        glue_dir=glue_dir(),
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        settings=ts.scoring_flags(config, ["dev"]),
        code=f"{code('score')},{code('selection')}",
    shell:
        "(python -m condpdiff.score --model {params.model} --task-file {input.task}"
        " --data-source {params.source} --glue-dir {params.glue_dir:q} --rank {wildcards.rank}"
        " --alpha {params.alpha} --target-modules {params.target_modules} --params {input.params}"
        " --soup {wildcards.n} --head file {params.settings} --out {output.scores}"
        " && python -m condpdiff.selection soup --scores {output.scores} --out {output.cell}) > {log} 2>&1"


rule score_candidates:
    input:
        params=os.path.join(CANDIDATES, "candidates/{task}.safetensors"),
        harvest=lambda w: harvest_path(w.backbone, w.rank, w.task),
        task=TASK_FILE,
        data=task_data_files,
        backbone=backbone_input,
    output:
        scores=os.path.join(SCORED, "candidate_scores.json"),
    log:
        os.path.join(LOGS, "score_candidates", f"{CELL_TAG}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "score_candidates", f"{CELL_TAG}.tsv")
    wildcard_constraints:
        condition="[a-z]+(-[a-z]+)?",
        sampler=r"(ddpm|ddim)\d+",
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=SCORE_RUNTIME,
        mem_mb=8000,
    params:
        model=backbone_model,
        source="hub" if config["data"]["source"] == "hub" else "local",
        glue_dir=glue_dir(),
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        head=ts.scoring_head(config),
        settings=ts.scoring_flags(config, ["dev"]),
        code=code("score"),
    shell:
        "python -m condpdiff.score --model {params.model} --task-file {input.task}"
        " --data-source {params.source} --glue-dir {params.glue_dir:q} --rank {wildcards.rank}"
        " --alpha {params.alpha} --target-modules {params.target_modules} --params {input.params}"
        " --head {params.head} --harvest {input.harvest} {params.settings} --out {output.scores} > {log} 2>&1"


rule score_selection:
    """The candidates on the selection split (sel_n training examples drawn with sel_seed).

    sel_pool "-heldout": drawn only from the training examples fine-tuning left out.
    """
    input:
        params=os.path.join(CANDIDATES, "candidates/{task}.safetensors"),
        harvest=lambda w: harvest_path(w.backbone, w.rank, w.task),
        finetune_summary=lambda w: finetune_summary_path(w.backbone, w.rank, w.task),
        task=TASK_FILE,
        data=task_data_files,
        backbone=backbone_input,
    output:
        scores=os.path.join(SELECTED, "selection_scores.json"),
    log:
        os.path.join(LOGS, "score_selection", f"{SEL_TAG}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "score_selection", f"{SEL_TAG}.tsv")
    wildcard_constraints:
        condition="[a-z]+(-[a-z]+)?",
        sampler=r"(ddpm|ddim)\d+",
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=SCORE_RUNTIME,
        mem_mb=8000,
    params:
        model=backbone_model,
        source="hub" if config["data"]["source"] == "hub" else "local",
        glue_dir=glue_dir(),
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        head=ts.scoring_head(config),
        settings=ts.scoring_flags(config, ["selection"]),
        pool=lambda w: "heldout" if w.sel_pool else "train",
        code=code("score"),
    shell:
        "python -m condpdiff.score --model {params.model} --task-file {input.task}"
        " --data-source {params.source} --glue-dir {params.glue_dir:q} --rank {wildcards.rank}"
        " --alpha {params.alpha} --target-modules {params.target_modules} --params {input.params}"
        " --head {params.head} --harvest {input.harvest} {params.settings}"
        " --selection-examples {wildcards.sel_n} --selection-seed {wildcards.sel_seed} --selection-from {params.pool}"
        " --finetune-summary {input.finetune_summary} --out {output.scores} > {log} 2>&1"


rule select_candidate:
    input:
        scores=os.path.join(SCORED, "candidate_scores.json"),
        selection=os.path.join(SELECTED, "selection_scores.json"),
    output:
        cell=os.path.join(SELECTED, "generated.json"),
    log:
        os.path.join(LOGS, "select_candidate", f"{SEL_TAG}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "select_candidate", f"{SEL_TAG}.tsv")
    wildcard_constraints:
        condition="[a-z]+(-[a-z]+)?",
        sampler=r"(ddpm|ddim)\d+",
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=code("selection"),
    shell:
        "python -m condpdiff.selection generated --scores {input.scores}"
        " --selection {input.selection} --out {output.cell} > {log} 2>&1"


rule score_cross_task:
    """The candidate selected for task {source}, scored on {task} with {task}'s head."""
    input:
        cell=os.path.join(
            SCORES_GEN,
            "cond-{condition}/{sampler}/{source}/sel{sel_n}-seed{sel_seed}{sel_pool}/generated.json",
        ),
        params=os.path.join(CANDIDATES, "candidates/{source}.safetensors"),
        harvest=lambda w: harvest_path(w.backbone, w.rank, w.task),
        task=TASK_FILE,
        data=task_data_files,
        backbone=backbone_input,
    output:
        scores=os.path.join(SELECTED, "from-{source}/cross_scores.json"),
        cell=os.path.join(SELECTED, "from-{source}/cross.json"),
    log:
        os.path.join(LOGS, "score_cross_task", f"{SEL_TAG}_from-{{source}}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "score_cross_task", f"{SEL_TAG}_from-{{source}}.tsv")
    wildcard_constraints:
        condition="[a-z]+(-[a-z]+)?",
        sampler=r"(ddpm|ddim)\d+",
        source="[A-Za-z0-9_]+",
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=SCORE_RUNTIME,
        mem_mb=8000,
    params:
        model=backbone_model,
        source="hub" if config["data"]["source"] == "hub" else "local",
        glue_dir=glue_dir(),
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        head=ts.scoring_head(config),
        settings=ts.scoring_flags(config, ["dev"]),
        code=f"{code('score')},{code('selection')}",
    shell:
        "(python -m condpdiff.score --model {params.model} --task-file {input.task}"
        " --data-source {params.source} --glue-dir {params.glue_dir:q} --rank {wildcards.rank}"
        " --alpha {params.alpha} --target-modules {params.target_modules} --params {input.params}"
        " --row-from {input.cell} --head {params.head} --harvest {input.harvest} {params.settings}"
        " --out {output.scores}"
        " && python -m condpdiff.selection cross --scores {output.scores} --out {output.cell}) > {log} 2>&1"


rule score_recon:
    input:
        params=os.path.join(GEN_DIR, "autoencoder/recon/{task}.safetensors"),
        harvest=lambda w: harvest_path(w.backbone, w.rank, w.task),
        task=TASK_FILE,
        data=task_data_files,
        backbone=backbone_input,
    output:
        scores=os.path.join(SCORES_GEN, "autoencoder/{task}/recon_scores.json"),
    log:
        os.path.join(LOGS, "score_recon", f"{RECON_TAG}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "score_recon", f"{RECON_TAG}.tsv")
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        gpu=GPU,
        runtime=SCORE_RUNTIME,
        mem_mb=8000,
    params:
        model=backbone_model,
        source="hub" if config["data"]["source"] == "hub" else "local",
        glue_dir=glue_dir(),
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        head=ts.scoring_head(config),
        settings=ts.scoring_flags(config, ["dev"]),
        every=HARVEST_EVERY,
        code=code("score"),
    shell:
        "python -m condpdiff.score --model {params.model} --task-file {input.task}"
        " --data-source {params.source} --glue-dir {params.glue_dir:q} --rank {wildcards.rank}"
        " --alpha {params.alpha} --target-modules {params.target_modules} --params {input.params}"
        " --every {params.every} --head {params.head} --harvest {input.harvest} {params.settings} --out {output.scores} > {log} 2>&1"


rule summarize_recon:
    input:
        scores=os.path.join(SCORES_GEN, "autoencoder/{task}/recon_scores.json"),
    output:
        cell=os.path.join(SCORES_GEN, "autoencoder/{task}/recon.json"),
    log:
        os.path.join(LOGS, "summarize_recon", f"{RECON_TAG}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "summarize_recon", f"{RECON_TAG}.tsv")
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=code("selection"),
    shell:
        "python -m condpdiff.selection recon --scores {input.scores} --out {output.cell} > {log} 2>&1"


rule merge_adapter:
    input:
        cell=os.path.join(SELECTED, "generated.json"),
        params=os.path.join(CANDIDATES, "candidates/{task}.safetensors"),
        harvest=lambda w: harvest_path(w.backbone, w.rank, w.task),
        task=TASK_FILE,
        backbone=backbone_input,
    output:
        adapter=directory(
            os.path.join(
                R,
                "adapters/{backbone}/r{rank}/n{n}/layers-{layers}/norm-{norm}/cond-{condition}/{sampler}/{task}/sel{sel_n}-seed{sel_seed}{sel_pool}",
            )
        ),
    log:
        os.path.join(LOGS, "merge_adapter", f"{SEL_TAG}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "merge_adapter", f"{SEL_TAG}.tsv")
    wildcard_constraints:
        condition="[a-z]+(-[a-z]+)?",
        sampler=r"(ddpm|ddim)\d+",
    conda:
        "../../environment.yml"
    resources:
        runtime=15,
        mem_mb=8000,
    params:
        model=backbone_model,
        alpha=lambda w: lora_alpha(config, int(w.rank)),
        target_modules=target_modules,
        head=ts.scoring_head(config),
        merge_full_model=config.get("scoring", {}).get("merge_full_model", False),
        code=code("merge"),
    shell:
        "python -m condpdiff.merge --model {params.model} --task-file {input.task} --rank {wildcards.rank}"
        " --alpha {params.alpha} --target-modules {params.target_modules} --params {input.params}"
        " --cell {input.cell} --head {params.head} --harvest {input.harvest}"
        " --merge-full-model {params.merge_full_model} --out {output.adapter} > {log} 2>&1"


rule make_table:
    input:
        cells=lambda w: ts.table_files(ts.table_spec(config, w.table)),
    output:
        csv=report(
            os.path.join(TABLES, "{table}.csv"),
            caption="../report/table.rst",
            category="Tables",
        ),
        md=os.path.join(TABLES, "{table}.md"),
    log:
        os.path.join(LOGS, "make_table/{table}.log"),
    benchmark:
        os.path.join(BENCHMARKS, "make_table/{table}.tsv")
    wildcard_constraints:
        table="table1|table3|table4a|table4b|table4c|table_sampler|table_recon|table_cross",
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        spec=lambda w: ts.table_arg(config, w.table),
        code=code("tables"),
    shell:
        "python -m condpdiff.tables --spec {params.spec} --csv {output.csv} --md {output.md} > {log} 2>&1"


rule table1:
    input:
        os.path.join(TABLES, "table1.csv"),
        os.path.join(TABLES, "table1.md"),


rule table3:
    input:
        os.path.join(TABLES, "table3.csv"),
        os.path.join(TABLES, "table3.md"),


rule table4a:
    input:
        os.path.join(TABLES, "table4a.csv"),
        os.path.join(TABLES, "table4a.md"),


rule table4b:
    input:
        os.path.join(TABLES, "table4b.csv"),
        os.path.join(TABLES, "table4b.md"),


rule table4c:
    input:
        os.path.join(TABLES, "table4c.csv"),
        os.path.join(TABLES, "table4c.md"),


rule table_sampler:
    input:
        os.path.join(TABLES, "table_sampler.csv"),
        os.path.join(TABLES, "table_sampler.md"),


rule table_recon:
    input:
        os.path.join(TABLES, "table_recon.csv"),
        os.path.join(TABLES, "table_recon.md"),


rule table_cross:
    input:
        os.path.join(TABLES, "table_cross.csv"),
        os.path.join(TABLES, "table_cross.md"),
