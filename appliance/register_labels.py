"""Labels from the cached templates: a shelf label for any product, a weighed-item
label (weight, price and a weight code the tills scan back) for one sold by weight.

Mixed into `appliance.register.Register`. The register only fills the label; the
screen sends it to the label printer on its device worker, as it kicks the drawer.
Templates are checked strictly when they are imported (`appliance.labels`); one
that no longer parses, a product the template cannot describe (a shelf label's
EAN-13 for a product without one) or a weight a label cannot carry is refused
with the reason, never printed half right.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from appliance.domain.catalog import Product
from appliance.domain.labels import LabelError, label_values, weight_code
from appliance.register_core import RegisterCore, RegisterError
from appliance.store import cache
from appliance.store.lmdb_env import Txn
from hw.labels import (
    FilledLabel,
    LabelTemplate,
    LabelTemplateError,
    LabelValueError,
    fill,
    parse_template,
)

WEIGHED_PLACEHOLDERS = frozenset({"weight"})
"""A template that prints one of these is a weighed-item label."""


@dataclass(frozen=True, slots=True)
class LabelChoice:
    """A cached template as the labels screen offers it."""

    id: str
    weighed: bool
    """True when the label prints a weight: only for products sold by weight, weighed first."""


def _parse(ident: str, data: dict[str, object]) -> LabelTemplate:
    try:
        return parse_template(data, f"label template {ident!r}")
    except LabelTemplateError as exc:
        raise RegisterError(f"{exc}; import the label templates again") from None


class Labels(RegisterCore):
    """Label templates and filled labels (see the module docstring)."""

    def _templates(self, txn: Txn) -> dict[str, LabelTemplate]:
        found = cache.label_templates(txn, self.storage)
        return {ident: _parse(ident, data) for ident, data in sorted(found.items())}

    def label_choices(self) -> list[LabelChoice]:
        """The cached templates, by name."""
        templates = self._read(self._templates, "reading label templates")
        return [
            LabelChoice(ident, bool(t.placeholders & WEIGHED_PLACEHOLDERS))
            for ident, t in templates.items()
        ]

    def label(self, template_id: str, sku: str, weight: Decimal | None = None) -> FilledLabel:
        """`template_id` filled for `sku`; a weighed label needs the `weight` (in the
        product's unit), weighed at the scale or typed."""

        def run(txn: Txn) -> tuple[LabelTemplate | None, Product]:
            return self._templates(txn).get(template_id), self.rules(txn).catalog.product(sku)

        template, product = self._read(run, "reading the label template")
        if template is None:
            raise RegisterError(f"no label template {template_id!r}: import the label templates")
        weighed = None
        if template.placeholders & WEIGHED_PLACEHOLDERS:
            if weight is None:
                raise LabelError(f"weigh the {product.name} first: the {template.name} label "
                                 "prints its weight")  # fmt: skip
            weighed = weight_code(self.config.labels.weight_prefix, product, weight)
        packed = self.clock().date()
        values = label_values(product, packed=packed, weighed=weighed,
                              best_before_days=self.config.labels.best_before_days)  # fmt: skip
        try:
            return fill(template, values)
        except LabelValueError as exc:
            raise RegisterError(f"{product.name} on the {template.name} label: {exc}") from None
