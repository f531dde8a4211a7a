"""The fit bookkeeping every model shares: here, the kind check of a model loaded from elsewhere."""
from __future__ import annotations

import pytest

from gda_clv.errors import ModelError
from gda_clv.models.bgnbd import BetaGeoModel
from gda_clv.models.frequency import FrequencyModel
from gda_clv.models.gamma_gamma import GammaGammaModel


def test_checked_passes_its_own_kind_and_names_the_version_of_another() -> None:
    frequency, monetary = BetaGeoModel(), GammaGammaModel()
    assert FrequencyModel.checked(frequency, "clv_frequency v1") is frequency
    assert GammaGammaModel.checked(monetary, "clv_monetary v1") is monetary
    with pytest.raises(ModelError) as err:  # a Gamma-Gamma model registered under the frequency model's name
        FrequencyModel.checked(monetary, "clv_frequency v3")
    assert str(err.value).startswith("clv_frequency v3 holds a GammaGammaModel, not a FrequencyModel")
    assert "model.registry.*_name" in str(err.value)
    with pytest.raises(ModelError, match="clv_monetary v2 holds a BetaGeoModel, not a GammaGammaModel"):
        GammaGammaModel.checked(frequency, "clv_monetary v2")
