"""All tables: the models module plus each workflow's own models module.

Alembic's autogenerate and the models-match-migrations test read ``Base.metadata`` from here, so
a new ``db/models_<workflow>.py`` is registered by importing it below.
"""

from __future__ import annotations

from udipick.db import (
    models,  # noqa: F401  (imported to register its tables)
    models_connectors,  # noqa: F401  (imported to register its tables)
    models_counting,  # noqa: F401  (imported to register its tables)
    models_exceptions,  # noqa: F401  (imported to register its tables)
    models_gsp,  # noqa: F401  (imported to register its tables)
    models_kpis,  # noqa: F401  (imported to register its tables)
    models_opening,  # noqa: F401  (imported to register its tables)
    models_outbox,  # noqa: F401  (imported to register its tables)
    models_picking,  # noqa: F401  (imported to register its tables)
    models_printing,  # noqa: F401  (imported to register its tables)
    models_recalls,  # noqa: F401  (imported to register its tables)
    models_receiving,  # noqa: F401  (imported to register its tables)
    models_regulatory,  # noqa: F401  (imported to register its tables)
    models_replenishment,  # noqa: F401  (imported to register its tables)
    models_returns,  # noqa: F401  (imported to register its tables)
    models_stock_levels,  # noqa: F401  (imported to register its tables)
    models_stock_summary,  # noqa: F401  (imported to register its tables)
)
from udipick.db.models import Base

__all__ = ["Base"]
