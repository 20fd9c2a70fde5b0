"""Self-checks: the references score full marks, blanks score zero, typical mistakes fail with a helpful message."""

import math

import pytest
import torch

from coursekit.course import exercises
from coursekit.course.exercises import check, get_exercise, list_exercises, run_checks
from coursekit.sde.brownian import brownian_increments

CHAPTER_1 = [
    "brownian.sample_brownian_motion",
    "sde_solvers.euler_maruyama",
    "schedules.linear_alpha_sigma",
    "langevin.langevin_dynamics",
]


def not_done(*args, **kwargs):
    raise NotImplementedError()


def test_chapter_1_exercises_registered():
    assert list_exercises("01_sde_basics") == CHAPTER_1


@pytest.mark.parametrize("exercise_id", list_exercises())
def test_reference_scores_full_marks(exercise_id):
    exercise = get_exercise(exercise_id)
    result = run_checks(exercise_id, exercise.reference)
    assert result.status == "passed", result.failed
    assert result.points == result.max_points == len(exercise.checks)


@pytest.mark.parametrize("exercise_id", list_exercises())
def test_blank_scores_zero(exercise_id, capsys):
    result = run_checks(exercise_id, not_done)
    assert result.status == "not done" and result.points == 0
    used = check(exercise_id, not_done)
    assert used is get_exercise(exercise_id).reference
    assert "[not done yet]" in capsys.readouterr().out


def _first_failure(exercise_id, fn):
    result = run_checks(exercise_id, fn)
    assert result.status == "failed"
    return result


def test_brownian_with_dt_scaling_is_caught():
    def wrong(t_grid, n_paths, d=1, *, generator=None):
        dt = t_grid[1:] - t_grid[:-1]
        z = torch.randn(dt.shape[0], n_paths, d, generator=generator, dtype=t_grid.dtype)
        return torch.cat([torch.zeros(1, n_paths, d, dtype=t_grid.dtype), (dt[:, None, None] * z).cumsum(0)])

    result = _first_failure("brownian.sample_brownian_motion", wrong)
    assert any("sqrt(t[k+1] - t[k])" in message for _, message in result.failed)


def test_brownian_ignoring_generator_is_caught():
    def wrong(t_grid, n_paths, d=1, *, generator=None):
        dt = t_grid[1:] - t_grid[:-1]
        z = torch.randn(dt.shape[0], n_paths, d, dtype=t_grid.dtype)
        return torch.cat([torch.zeros(1, n_paths, d, dtype=t_grid.dtype), (dt.sqrt()[:, None, None] * z).cumsum(0)])

    result = _first_failure("brownian.sample_brownian_motion", wrong)
    assert [name for name, _ in result.failed] == ["reproducible from a generator"]


def test_euler_maruyama_with_dt_noise_is_caught():
    def wrong(sde, x, t_grid, *, generator=None, dW=None):
        if dW is None:
            dW = brownian_increments(t_grid, x.shape[0], x.shape[1], generator=generator)
        out = [x]
        for k in range(len(t_grid) - 1):
            dt = t_grid[k + 1] - t_grid[k]
            x = x + sde.drift(x, t_grid[k]) * dt + sde.diffusion_term(x, t_grid[k]) * dW[k] * dt.abs().sqrt()
            out.append(x)
        return torch.stack(out)

    result = _first_failure("sde_solvers.euler_maruyama", wrong)
    assert "do not multiply it by sqrt(dt) again" in result.failed[0][1]


def _messages(exercise_id, fn):
    return " | ".join(message for _, message in _first_failure(exercise_id, fn).failed)


def test_euler_maruyama_with_the_drift_at_the_end_of_the_step_is_named():
    def wrong(sde, x, t_grid, *, generator=None, dW=None):
        if dW is None:
            dW = brownian_increments(t_grid, x.shape[0], x.shape[1], generator=generator)
        out = [x]
        for k in range(len(t_grid) - 1):
            t = t_grid[k + 1]  # the mistake: the end of the step
            x = x + sde.drift(x, t) * (t_grid[k + 1] - t_grid[k]) + sde.diffusion_term(x, t) * dW[k]
            out.append(x)
        return torch.stack(out)

    result = _first_failure("sde_solvers.euler_maruyama", wrong)
    failed = dict(result.failed)
    assert "at the end of the step" in failed["runs backward in time"]
    assert "runs backward" not in failed["runs backward in time"].lower()


def _reverse_step(sign=1.0, noise_power=0.5, g_power=2):
    from coursekit.diffusion.samplers import reverse_sde_step

    def step(sde, score, x, t, dt, *, generator=None, noise=None):
        if noise is None:
            return reverse_sde_step(sde, score, x, t, dt, generator=generator)
        t = torch.as_tensor(t, dtype=x.dtype)
        g = sde.diffusion(t)
        return x - (sde.drift(x, t) - sign * g**g_power * score(x, t)) * dt + g * dt**noise_power * noise

    return step


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_reverse_step(sign=-1.0), "the sign of the score term is flipped"),
        (_reverse_step(noise_power=1.0), "not g dt z"),
        (_reverse_step(g_power=1), "multiplied by g^2, not g"),
    ],
)
def test_reverse_sde_step_mistakes_are_named(wrong, words):
    assert _reference_step_passes()
    assert words in _messages("samplers.reverse_sde_step", wrong)


def _reference_step_passes():
    return run_checks("samplers.reverse_sde_step", _reverse_step()).status == "passed"


def _schedule(half=True, t2_half=True, sigma="sqrt"):
    def schedule(t, beta_min=0.1, beta_max=20.0):
        t = torch.as_tensor(t, dtype=torch.float64)
        integral = beta_min * t + (0.5 if t2_half else 1.0) * (beta_max - beta_min) * t**2
        alpha = torch.exp(-(0.5 if half else 1.0) * integral)
        s = {"sqrt": torch.sqrt(1 - alpha**2), "one_minus": 1 - alpha, "sqrt_one_minus": torch.sqrt(1 - alpha)}[sigma]
        return alpha, s

    return schedule


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_schedule(half=False), "the factor 1/2 is missing"),
        (_schedule(t2_half=False), "the t^2 term has a factor 1/2"),
        (_schedule(sigma="one_minus"), "not 1 - alpha_t"),
        (_schedule(sigma="sqrt_one_minus"), "not sqrt(1 - alpha_t)"),
    ],
)
def test_schedule_mistakes_are_named(wrong, words):
    assert run_checks("schedules.linear_alpha_sigma", _schedule()).status == "passed"
    assert words in _messages("schedules.linear_alpha_sigma", wrong)


def _langevin(noise_factor=2.0, drift=1.0):
    def chain(score, x, step_size, n_steps, *, generator=None, noise=None):
        if noise is None:
            noise = torch.randn(n_steps, *x.shape, generator=generator, dtype=x.dtype)
        out = [x]
        for k in range(n_steps):
            x = x + drift * step_size * score(x) + math.sqrt(noise_factor * step_size) * noise[k]
            out.append(x)
        return torch.stack(out)

    return chain


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_langevin(noise_factor=1.0), "not sqrt(step_size) * z_k"),
        (_langevin(drift=0.5), "you halved it"),
    ],
)
def test_langevin_mistakes_are_named(wrong, words):
    assert run_checks("langevin.langevin_dynamics", _langevin()).status == "passed"
    assert words in _messages("langevin.langevin_dynamics", wrong)


def test_alpha_without_one_half_is_caught(capsys):
    def wrong(t, beta_min=0.1, beta_max=20.0):
        t = torch.as_tensor(t)
        alpha = torch.exp(-(beta_min * t + t**2 * (beta_max - beta_min)))
        return alpha, torch.sqrt(1 - alpha**2)

    used = check("schedules.linear_alpha_sigma", wrong)
    line = capsys.readouterr().out
    assert used is get_exercise("schedules.linear_alpha_sigma").reference
    assert line.startswith("[failed] schedules.linear_alpha_sigma:") and "alpha_t" in line and "instead" in line


def test_langevin_with_wrong_noise_scale_is_caught():
    def wrong(score, x, step_size, n_steps, *, generator=None, noise=None):
        if noise is None:
            noise = torch.randn(n_steps, *x.shape, generator=generator, dtype=x.dtype)
        chain = [x]
        for k in range(n_steps):
            x = x + step_size * score(x) + math.sqrt(step_size) * noise[k]
            chain.append(x)
        return torch.stack(chain)

    result = _first_failure("langevin.langevin_dynamics", wrong)
    assert len(result.passed) == 1  # only the shape check passes


def test_student_errors_are_reported_not_raised():
    def crashes(*args, **kwargs):
        return 1 / 0

    result = run_checks("schedules.linear_alpha_sigma", crashes)
    assert result.status == "failed" and "ZeroDivisionError" in result.failed[0][1]
    assert run_checks("schedules.linear_alpha_sigma", "not a function").points == 0


def test_passing_function_is_used(capsys):
    reference = get_exercise("langevin.langevin_dynamics").reference

    def mine(*args, **kwargs):
        return reference(*args, **kwargs)

    assert check("langevin.langevin_dynamics", mine) is mine
    assert "[passed]" in capsys.readouterr().out


def test_checks_do_not_move_the_global_rng():
    state = torch.get_rng_state()
    run_checks("brownian.sample_brownian_motion", get_exercise("brownian.sample_brownian_motion").reference)
    assert torch.equal(state, torch.get_rng_state())


def test_unknown_id_suggests_the_closest():
    with pytest.raises(KeyError, match="sde_solvers.euler_maruyama"):
        exercises.get_exercise("sde_solver.euler_maruyama")
