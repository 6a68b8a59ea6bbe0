"""The models' steps in Dagster: every model in a layer after the models it reads, whole and daily layers in turn."""

from reporter_etl.models import load_models


def test_every_model_is_built_after_what_it_reads_in_layers_of_one_kind():
    from dagster_defs.models import model_layers  # dagster is imported by the test, not at collection

    buildable = [m for m in load_models() if m.kind != "check"]
    layers = model_layers(buildable)
    order = [m.name for layer in layers for m in layer]
    assert sorted(order) == sorted(m.name for m in buildable)  # each model once
    layer_of = {m.name: n for n, layer in enumerate(layers) for m in layer}
    for model in buildable:
        for name in model.inputs:
            if name in layer_of:  # raw tables are not models
                assert order.index(name) < order.index(model.name), (name, model.name)
                assert layer_of[name] <= layer_of[model.name], (name, model.name)
    assert all(len({m.daily for m in layer}) == 1 for layer in layers)  # a step is whole or partitioned
    assert all(a[0].daily != b[0].daily for a, b in zip(layers, layers[1:], strict=False))
    assert len(layers) < len(buildable)  # the point of the layers: fewer steps than models
