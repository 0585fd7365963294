"""The planner: findings and overrides in, Kubernetes objects out. Pure: no IO, no globals.

    builder.build_plan(hosts, overrides)  -> model.Plan        (our intermediate representation)
    objects.to_objects(plan)              -> kubernetes client models, one function per kind
    render.render_yaml(objects)           -> deterministic multi-document YAML
    validate.validate_yaml(text)          -> problems found by schema and cross-checks
    export.export_plan(plan)              -> the YAML of a plan
"""
