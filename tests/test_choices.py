"""One validation of a name that selects a method, a schedule or a parameterization, with a did-you-mean."""

import pytest
import torch

from coursekit._choices import check_choice
from coursekit.course import pretrain
from coursekit.diffusion.dsm import dsm_loss, score_from_model
from coursekit.flows.ode import integrate
from coursekit.sde.processes import VPSDE, OrnsteinUhlenbeck
from coursekit.sde.schedules import get_schedule
from coursekit.sde.solvers import simulate


def test_check_choice():
    assert check_choice("rk4", ("euler", "rk4"), "ODE method") == "rk4"
    assert check_choice("a", {"a": 1, "b": 2}, "thing") == "a"  # the keys of a dict
    with pytest.raises(
        ValueError,
        match=r"unknown ODE method 'rk5'; valid names: \['euler', 'rk4'\]\. "
        r"Did you mean 'rk4'\?",
    ):
        check_choice("rk5", ("rk4", "euler"), "ODE method")
    with pytest.raises(ValueError) as info:
        check_choice("zzz", ("euler", "rk4"), "ODE method")
    assert "Did you mean" not in str(info.value)  # no hint when nothing is close
    with pytest.raises(ValueError, match="unknown schedule None"):
        check_choice(None, ("cosine",), "schedule")  # not a string: named, not crashed on


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_schedule("cosin"), "unknown schedule 'cosin'.*Did you mean 'cosine'"),
        (
            lambda: integrate(lambda x, t: x, torch.ones(1, 1), torch.tensor([0.0, 1.0]), method="midpiont"),
            "unknown ODE method 'midpiont'.*Did you mean 'midpoint'",
        ),
        (
            lambda: simulate(OrnsteinUhlenbeck(), torch.ones(1, 1), torch.tensor([0.0, 1.0]), method="euler_maruyma"),
            "unknown SDE method 'euler_maruyma'.*Did you mean 'euler_maruyama'",
        ),
        (
            lambda: dsm_loss(lambda x, t: x, torch.ones(2, 2), VPSDE(), parameterization="nois"),
            "unknown parameterization 'nois'.*Did you mean 'noise'",
        ),
        (
            lambda: dsm_loss(lambda x, t: x, torch.ones(2, 2), VPSDE(), weighting="sigma"),
            "unknown weighting 'sigma'.*Did you mean 'sigma2'",
        ),
        (lambda: score_from_model(lambda x, t: x, VPSDE(), "dta"), "unknown parameterization 'dta'.*'data'"),
        (lambda: pretrain.build("cfn"), "unknown model kind 'cfn'.*Did you mean 'cnf'"),
    ],
    ids=["schedule", "ode", "sde", "parameterization", "weighting", "score_from_model", "pretrain"],
)
def test_every_named_option_uses_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()
