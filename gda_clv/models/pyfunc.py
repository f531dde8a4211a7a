"""Old home of the MLflow wrappers, kept only so that models logged before they moved still load.

A logged pyfunc model pickles its wrapper class by module path; models logged by earlier builds of this
version name ``gda_clv.models.pyfunc``. New code imports :mod:`gda_clv.utils.pipelines.pyfunc`.
"""
from gda_clv.utils.pipelines.pyfunc import FrequencyPyfunc, MonetaryPyfunc

__all__ = ["FrequencyPyfunc", "MonetaryPyfunc"]
