"""make lint: the SAM template's table must be exactly infra/table.json, the definition
the store's tests and the local stack create their tables from. Fails with the diff."""
import json
import sys

from cfnlint.decode import decode  # cfn-lint's own loader understands !Ref, !Sub, ...

template, errors = decode("infra/template.yaml")
if errors:
    sys.exit(f"infra/template.yaml does not parse: {errors}")
in_template = json.loads(json.dumps(template["Resources"]["Table"]["Properties"]))
with open("infra/table.json") as f:
    definition = json.load(f)
if in_template != definition:
    sys.exit(
        "infra/template.yaml Table properties differ from infra/table.json:\n"
        f"template:   {json.dumps(in_template, sort_keys=True)}\n"
        f"table.json: {json.dumps(definition, sort_keys=True)}"
    )
print("infra/template.yaml table == infra/table.json")
