"""Task definitions, synthetic smoke data and tiny random backbones."""


rule write_task:
    output:
        task=f"{R}/tasks/{{task}}.json",
    log:
        f"{R}/logs/write_task/{{task}}.log",
    benchmark:
        f"{R}/benchmarks/write_task/{{task}}.tsv"
    conda:
        "../../environment.yml"
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
        train=f"{R}/data/glue/{{kind}}/train.tsv",
        dev=f"{R}/data/glue/{{kind}}/dev.tsv",
    log:
        f"{R}/logs/make_synthetic_task/{{kind}}.log",
    benchmark:
        f"{R}/benchmarks/make_synthetic_task/{{kind}}.tsv"
    conda:
        "../../environment.yml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        train_size=config["data"].get("synthetic", {}).get("train_size", 256),
        dev_size=config["data"].get("synthetic", {}).get("dev_size", 64),
        seed=config["data"].get("synthetic", {}).get("seed", 0),
        out_dir=lambda w, output: str(Path(output.train).parent.parent),
        code=code("synthetic"),
    shell:
        "python -m condpdiff.synthetic --kind {wildcards.kind} --out-dir {params.out_dir}"
        " --train-size {params.train_size} --dev-size {params.dev_size} --seed {params.seed} > {log} 2>&1"


rule build_tiny_backbone:
    output:
        model=directory(f"{R}/backbones/{{backbone}}"),
    log:
        f"{R}/logs/build_tiny_backbone/{{backbone}}.log",
    benchmark:
        f"{R}/benchmarks/build_tiny_backbone/{{backbone}}.tsv"
    conda:
        "../../environment.yml"
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
