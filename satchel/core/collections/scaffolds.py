"""`GET /api/collections/meta/scaffolds`: blank collections of each type, as the dashboard needs."""

from __future__ import annotations

from typing import Any

from satchel.core.collections.model import Collection, default_auth_options
from satchel.core.collections.system import auth_system_fields, id_field
from satchel.tools.ids import random_id


def scaffolds() -> dict[str, Any]:
    base = Collection(id="", name="", type="base", fields=[id_field()])
    suffix = random_id(10)
    auth = Collection(
        id="",
        name="",
        type="auth",
        fields=[id_field(), *auth_system_fields()],
        auth=default_auth_options(),
        indexes=[
            f"CREATE UNIQUE INDEX `idx_tokenKey_{suffix}` ON `` (`tokenKey`)",
            f"CREATE UNIQUE INDEX `idx_email_{suffix}` ON `` (`email`) WHERE `email` != ''",
        ],
    )
    view = Collection(id="", name="", type="view")
    return {"base": base.to_json(), "auth": auth.to_json(), "view": view.to_json()}
