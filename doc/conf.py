"""Sphinx configuration: numpydoc API pages, the pydata theme and a sphinx-gallery of examples."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))

import skschrodinger  # noqa: E402

project = "skschrodinger"
author = "the skschrodinger developers"
copyright = "2026, the skschrodinger developers"
release = version = skschrodinger.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # Our base classes' methods, not scikit-learn's (whose docstrings cite its own labels).
    "inherited-members": ("BaseEstimator,TransformerMixin,OneToOneFeatureMixin,"
                          "_MetadataRequester,_SetOutputMixin,object"),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5"]
templates_path = ["_templates"]

# Every cross-reference must resolve; the docs build offline (no intersphinx),
# so references into other projects' docs are listed here.
nitpicky = True
nitpick_ignore = [
    ("py:class", "numpy.ndarray"),
    ("py:class", "sklearn.mixture.GaussianMixture"),
    ("py:func", "scipy.stats.energy_distance"),
    ("py:func", "ot.emd2"),
    ("py:func", "joblib.parallel_config"),
]



html_theme = "pydata_sphinx_theme"
html_title = "skschrodinger"
html_theme_options = {"show_toc_level": 2}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
}

# Examples run with a non-interactive backend; their own warnings are not doc errors.
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-GUI backend.*")


def skip_generated_request_methods(app, what, name, obj, skip, options):
    """Leave out the set_*_request methods that scikit-learn generates for estimators whose
    fit or score take sample_weight (scikit-learn documents them); the package's own, the
    scorers' set_score_request, are documented."""
    if name.startswith("set_") and name.endswith("_request"):
        if not getattr(obj, "__module__", "").startswith("skschrodinger."):
            return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_generated_request_methods)
