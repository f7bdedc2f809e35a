"""The direct generator: a frozen encoder's embedding of a task's data, mapped to its LoRA weights
in one forward pass (docs/method.md section 7). Recipe and condition draws (`conditioning`), the
arrangement of the parameter vector and the per-layer loss weights (`arrangement`), the network
(`network`), training (`train_direct`) and candidates (`sample_direct`)."""
