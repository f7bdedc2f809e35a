"""Task definitions, synthetic smoke data and tiny random backbones."""


rule write_task:
    output:
        task=R + "/tasks/{task}.json",
    log:
        R + "/logs/write_task/{task}.log",
    benchmark:
        R + "/benchmarks/write_task/{task}.tsv"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        custom=lambda w: shlex.quote(json.dumps(config.get("custom_tasks", {}))),
        code=code("write_task"),
    shell:
        "python -m condpdiff.write_task --task {wildcards.task} --custom-tasks {params.custom}"
        " --out {output.task} > {log} 2>&1"


rule make_synthetic_task:
    output:
        train=R + "/data/glue/{kind}/train.tsv",
        dev=R + "/data/glue/{kind}/dev.tsv",
    log:
        R + "/logs/make_synthetic_task/{kind}.log",
    benchmark:
        R + "/benchmarks/make_synthetic_task/{kind}.tsv"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        train_size=config["data"].get("synthetic", {}).get("train_size", 256),
        dev_size=config["data"].get("synthetic", {}).get("dev_size", 64),
        seed=config["data"].get("synthetic", {}).get("seed", 0),
        code=code("synthetic"),
    shell:
        "python -m condpdiff.synthetic --kind {wildcards.kind} --out-dir {R}/data/glue"
        " --train-size {params.train_size} --dev-size {params.dev_size} --seed {params.seed} > {log} 2>&1"


rule build_tiny_backbone:
    output:
        model=directory(R + "/backbones/{backbone}"),
    log:
        R + "/logs/build_tiny_backbone/{backbone}.log",
    benchmark:
        R + "/benchmarks/build_tiny_backbone/{backbone}.tsv"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        settings=lambda w: " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in config["backbones"][w.backbone]["tiny_random"].items()
        ),
        code=code("tiny_backbone"),
    shell:
        "python -m condpdiff.tiny_backbone --out {output.model} {params.settings} > {log} 2>&1"
