"""MLflow and output utilities the pipeline steps call (the seed's path; the steps themselves are
:mod:`gda_clv.pipelines`): ``pyfunc`` (MLflow model wrappers), ``model_utils`` and ``save_to_blob`` (prediction
files and lineage, split into ``run_folders`` and ``output_files``)."""
