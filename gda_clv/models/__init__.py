"""CLV models on numpy/pandas: frequency models (BG/NBD, MBG/NBD, Pareto/NBD), Gamma-Gamma spend, CLV, tuning.

Importing this package registers every frequency model type, so
:func:`gda_clv.models.frequency.make_frequency_model` and :meth:`gda_clv.models.frequency.FrequencyModel.from_dict`
know them all. No MLflow, Spark or config here: the MLflow wrappers are in :mod:`gda_clv.utils.pipelines.pyfunc`.
"""
from gda_clv.models.bgnbd import BetaGeoModel
from gda_clv.models.clv import customer_lifetime_value, periods_per_month
from gda_clv.models.compress import compress
from gda_clv.models.frequency import FrequencyModel, frequency_types, make_frequency_model
from gda_clv.models.gamma_gamma import GammaGammaModel
from gda_clv.models.mbgnbd import ModifiedBetaGeoModel
from gda_clv.models.pareto_nbd import ParetoNBDModel

__all__ = [
    "BetaGeoModel",
    "FrequencyModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "compress",
    "customer_lifetime_value",
    "frequency_types",
    "make_frequency_model",
    "periods_per_month",
]
