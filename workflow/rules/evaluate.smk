"""Table cells and tables. Every number in a table is one cached cell file (docs/formats.md),
written by a make_*_cell rule from score caches (condpdiff.evaluate.cells); a table only reads
cells (condpdiff.evaluate.make_table), so with every cell present a table trains and scores
nothing. Each table name in pipeline.tables.TABLES is also a target rule."""

CELL_RESOURCES = dict(runtime=5, mem_mb=1000)


rule make_original_cell:
    """Best dev score among the last n harvested checkpoints (the paper's 'original')."""
    input:
        scores=P.harvest_scores(),
    output:
        cell=P.baseline("original"),
    log:
        P.log("make_original_cell", TAG_N),
    benchmark:
        P.benchmark("make_original_cell", TAG_N)
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.cells"),
    shell:
        "python -m condpdiff.evaluate.cells original --scores {input.scores:q} --n {wildcards.n}"
        " --out {output.cell:q} > {log:q} 2>&1"


rule make_soup_cell:
    input:
        scores=P.baseline("soup_scores"),
    output:
        cell=P.baseline("soup"),
    log:
        P.log("make_soup_cell", TAG_N),
    benchmark:
        P.benchmark("make_soup_cell", TAG_N)
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.cells"),
    shell:
        "python -m condpdiff.evaluate.cells soup --scores {input.scores:q} --out {output.cell:q}"
        " > {log:q} 2>&1"


rule make_generated_cell:
    """The candidate best on the selection split, reported on dev (dev never selects)."""
    input:
        scores=(
            P.candidate_scores()
            if config["scoring"]["dev_all_candidates"]
            else P.selected_scores()
        ),
        selection=P.selection_scores(),
    output:
        cell=P.generated(),
    log:
        P.log("make_generated_cell", TAG_SEL),
    benchmark:
        P.benchmark("make_generated_cell", TAG_SEL)
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.cells"),
    shell:
        "python -m condpdiff.evaluate.cells generated --scores {input.scores:q}"
        " --selection {input.selection:q} --out {output.cell:q} > {log:q} 2>&1"


rule make_cross_cell:
    input:
        scores=P.cross("cross_scores"),
    output:
        cell=P.cross("cross"),
    log:
        P.log("make_cross_cell", TAG_CROSS),
    benchmark:
        P.benchmark("make_cross_cell", TAG_CROSS)
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.cells"),
    shell:
        "python -m condpdiff.evaluate.cells cross --scores {input.scores:q} --out {output.cell:q}"
        " > {log:q} 2>&1"


rule make_text_nolora_cell:
    """No LoRA (text): the one scored row of score_nolora's cache."""
    input:
        scores=P.nolora("nolora_scores"),
    output:
        cell=P.nolora("nolora"),
    log:
        P.log("make_text_nolora_cell", TAG_TASK),
    benchmark:
        P.benchmark("make_text_nolora_cell", TAG_TASK)
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.cells"),
    shell:
        "python -m condpdiff.evaluate.cells nolora --scores {input.scores:q} --out {output.cell:q}"
        " > {log:q} 2>&1"


rule make_recon_cell:
    input:
        scores=P.recon_scores(),
    output:
        cell=P.recon_scores("recon"),
    log:
        P.log("make_recon_cell", TAG_RECON),
    benchmark:
        P.benchmark("make_recon_cell", TAG_RECON)
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.cells"),
    shell:
        "python -m condpdiff.evaluate.cells recon --scores {input.scores:q} --out {output.cell:q}"
        " > {log:q} 2>&1"


rule write_table_spec:
    """A table's spec (which cell files make it: pipeline.targets) as a file, read by make_table:
    at several seeds a spec outgrows one shell argument (128 KiB on Linux). Its params are the
    spec, so a config change that changes the spec rewrites it (written atomically)."""
    output:
        spec=P.table("spec.json"),
    log:
        P.log("write_table_spec", "{table}"),
    localrule: True
    params:
        spec=lambda w: json.dumps(targets.table_spec(config, w.table), sort_keys=True),
    run:
        from condpdiff.util.atomic import write_text

        write_text(output.spec, params.spec)
        write_text(log[0], f"{output.spec}: {len(params.spec)} characters\n")


rule make_table:
    input:
        spec=P.table("spec.json"),
        cells=lambda w: targets.table_files(targets.table_spec(config, w.table)),
    output:
        csv=P.table("csv"),
        md=P.table("md"),
        html=report(
            P.table("html"),
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "{table}"},
        ),
    log:
        P.log("make_table", "{table}"),
    benchmark:
        P.benchmark("make_table", "{table}")
    conda:
        "../../environment.yml"
    resources:
        **CELL_RESOURCES,
    params:
        code=code("evaluate.make_table"),
    shell:
        "python -m condpdiff.evaluate.make_table --spec @{input.spec:q} --csv {output.csv:q}"
        " --md {output.md:q} --html {output.html:q} > {log:q} 2>&1"


# One target rule per table: `snakemake table1` builds R/tables/table1.{csv,md,html}.
for _table in tables.TABLES:

    rule:
        name:
            _table
        input:
            expand(P.table("{ext}", table=_table), ext=TABLE_FORMATS),


# One target rule per figure target the config's branches allow: `snakemake analyses`.
for _target, _branch in FIGURE_TARGETS.items():
    if _branch == "any" or config.get("tasks" if _branch == "text" else "image"):

        rule:
            name:
                _target
            input:
                targets.figure_target_files(config, _target),
