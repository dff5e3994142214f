"""The examples of the linear-model docstrings run with nothing but what they import
(fresh-user report 2, item 18: the PowerLawRidge, GradientFlow and GradientDescent examples
used bare ``np``, ``fit_power_law`` and ``GradientFlow``, which a copy-paster with only
``import numpy as np, hdeq`` does not have). tests/test_docstring_examples.py runs them in
their module's namespace, where such names exist; here the namespace is empty."""

import doctest

import pytest

import hdeq

OBJECTS = [hdeq.PowerLawRidge, hdeq.scaling_exponent, hdeq.fit_power_law, hdeq.GradientFlow,
           hdeq.GradientDescent, hdeq.RidgeRegression, hdeq.RandomProjectionRegression,
           hdeq.GaussianMixtureGradientFlow]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: o.__name__)
def test_example_runs_in_an_empty_namespace(obj):
    tests = doctest.DocTestFinder(recurse=False).find(obj, globs={})
    assert tests and tests[0].examples
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test, out=lambda text: None)
    assert runner.failures == 0, f"the example of {obj.__name__} needs names it does not import"
