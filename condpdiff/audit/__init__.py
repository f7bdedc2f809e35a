"""The audit's arms (arXiv 2506.07998: weight generators mostly memorise their training checkpoints
and do not beat a training checkpoint plus noise): the noise baseline and the memorisation
measure. The condition controls (null, shuffled) are sampled by the generators themselves with
the conditions of condpdiff.conditions.controls / null_condition. Each arm is a draw of an
existing generator (path part ``{control}``, pipeline.paths), scored and selected like its own
candidates. Domain-neutral: imports params/, util/ and pipeline.artifacts only.
"""
