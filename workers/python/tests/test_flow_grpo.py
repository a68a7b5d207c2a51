"""Flow-GRPO maths on the reference model: on-policy ratio, determinism, update direction, masking, all-or-nothing,
replays."""
from __future__ import annotations

import dataclasses
import math
import unittest

import torch

from helpers import ADV, PROMPTS, make_grpo, make_service, rollout_req
from vrgrpo_worker.errors import WorkerError
from vrgrpo_worker.flow_grpo import SamplerConfig


def all_logps(grpo, traj):
    with torch.no_grad():
        return [grpo.step_logp(traj, st)[0] for st in traj.steps]


class FlowGrpoTest(unittest.TestCase):
    def test_on_policy_ratio_is_one(self) -> None:
        grpo = make_grpo()
        for sampler in (SamplerConfig(), SamplerConfig(sde_end=None, shift=3.0), SamplerConfig(same_noise_in_group=True)):
            _, traj = grpo.sample(PROMPTS, 4, 11, sampler)
            self.assertGreater(len(traj.steps), 0)
            for st, lp in zip(traj.steps, all_logps(grpo, traj)):
                self.assertLess(float((torch.exp(lp - st.logp) - 1).abs().max()), 1e-5)
        stats = grpo.update([(traj, ADV)])
        self.assertLess(stats["onPolicyMaxRatioDeviation"], 1e-5)
        self.assertAlmostEqual(stats["ratioMean"], 1.0, places=5)

    def test_sde_window_and_ode_mode(self) -> None:
        grpo = make_grpo()
        _, traj = grpo.sample(PROMPTS, 2, 1, SamplerConfig(steps=6, sde_start=2, sde_end=5))
        self.assertEqual([s.index for s in traj.steps], [2, 3, 4])
        _, ode = grpo.sample(PROMPTS, 2, 1, SamplerConfig(mode="ode"))
        self.assertEqual(ode.steps, [])
        with self.assertRaises(WorkerError) as e:
            grpo.update([(ode, [1.0] * 4)])
        self.assertEqual(e.exception.code, "INVALID_ARGUMENT")

    def test_deterministic_by_seed(self) -> None:
        a, b = make_grpo(), make_grpo()
        xa, ta = a.sample(PROMPTS, 4, 5, SamplerConfig())
        xb, tb = b.sample(PROMPTS, 4, 5, SamplerConfig())
        self.assertTrue(torch.equal(xa, xb))
        self.assertTrue((a.model.decode(xa) == b.model.decode(xb)).all())
        for sa, sb in zip(ta.steps, tb.steps):
            self.assertTrue(torch.equal(sa.after, sb.after) and torch.equal(sa.logp, sb.logp))
        xc, _ = a.sample(PROMPTS, 4, 6, SamplerConfig())
        self.assertFalse(torch.equal(xa, xc))
        xs, _ = a.sample(PROMPTS, 4, 5, SamplerConfig(same_noise_in_group=True, mode="ode"))
        self.assertTrue(torch.equal(xs[0], xs[3]) and not torch.equal(xs[0], xs[4]))  # ODE + same noise: equal in group

    def test_update_moves_policy_towards_advantaged_samples(self) -> None:
        grpo = make_grpo(learning_rate=1e-2)
        _, traj = grpo.sample(PROMPTS, 4, 3, SamplerConfig())
        before, digest0 = all_logps(grpo, traj), grpo.digest()
        stats = grpo.update([(traj, ADV)])
        self.assertNotEqual(grpo.digest(), digest0)
        self.assertEqual(grpo.policy_updates, 1)
        self.assertEqual((stats["rows"], stats["videos"]), (8 * len(traj.steps), 8))
        after = all_logps(grpo, traj)
        adv = torch.tensor(ADV)
        gain = sum(float((adv * (a - b)).sum()) for a, b in zip(after, before))
        self.assertGreater(gain, 0.0)
        pos = sum(float((a - b)[adv > 0].mean()) for a, b in zip(after, before))
        neg = sum(float((a - b)[adv < 0].mean()) for a, b in zip(after, before))
        self.assertGreater(pos, neg)

    def test_masked_advantages_are_excluded(self) -> None:
        masked = [1.0, None, -1.0, None, 0.5, -0.5, None, 0.2]
        a, b = make_grpo(learning_rate=1e-2), make_grpo(learning_rate=1e-2)
        for g in (a, b):  # a first update, so that adapters-on differs from the reference and the KL term is live
            g.update([(g.sample(PROMPTS, 4, 2, SamplerConfig())[1], ADV)])
        _, ta = a.sample(PROMPTS, 4, 9, SamplerConfig())
        _, tb = b.sample(PROMPTS, 4, 9, SamplerConfig())
        for st in tb.steps:  # change what the masked videos recorded (KL and ratio inputs): must not matter
            for i in (1, 3, 6):
                st.before[i] += 0.3
                st.after[i] += 0.3
                st.logp[i] -= 0.2
        sa, sb = a.update([(ta, masked)]), b.update([(tb, masked)])
        self.assertEqual(a.digest(), b.digest())
        self.assertEqual(sa["videos"], 5)
        self.assertEqual(sa["rows"], 5 * len(ta.steps))
        self.assertEqual(sa, sb)
        self.assertGreater(sa["klLoss"], 0.0)
        with self.assertRaises(WorkerError) as e:
            a.update([(ta, [None] * 8)])
        self.assertEqual(e.exception.code, "INVALID_ARGUMENT")

    def test_update_is_all_or_nothing(self) -> None:
        svc = make_service()
        rid, *_ = svc.rollout(rollout_req(), owner=1)
        arrays0, meta0 = svc.grpo.export_state()
        good_config = svc.grpo.config
        svc.grpo.config = dataclasses.replace(good_config, learning_rate=math.inf)  # planted: parameters go non-finite
        with self.assertRaises(WorkerError) as e:
            svc.update({"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, owner=1)
        self.assertEqual(e.exception.code, "UPDATE_REJECTED")
        arrays1, meta1 = svc.grpo.export_state()
        self.assertEqual(meta1, meta0)
        self.assertEqual(svc.grpo.digest(), svc.grpo._compute_digest())
        for k in arrays0:
            self.assertTrue((arrays0[k] == arrays1[k]).all(), k)
        # a planted non-finite trajectory (non-finite loss) is refused the same way
        svc.grpo.config = good_config
        traj = svc._held[rid].trajectory
        saved = traj.steps[0].after[0].clone()
        traj.steps[0].after[0, 0, 0, 0, 0] = math.inf
        with self.assertRaises(WorkerError) as e:
            svc.update({"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, owner=1)
        self.assertEqual(e.exception.code, "UPDATE_REJECTED")
        self.assertEqual(svc.grpo.digest(), meta0["policyDigest"])
        traj.steps[0].after[0] = saved
        # the rollout stayed usable
        stats = svc.update({"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, owner=1)
        self.assertEqual(stats["policyUpdates"], 1)
        self.assertNotEqual(stats["policyDigest"], meta0["policyDigest"])

    def test_handles_belong_to_their_owner_and_are_released(self) -> None:
        svc = make_service()
        rid, *_ = svc.rollout(rollout_req(), owner=1)
        for owner, adv in ((2, ADV), (1, ADV[:3])):
            with self.assertRaises(WorkerError) as e:
                svc.update({"rollouts": [{"rolloutId": rid, "advantages": adv}]}, owner=owner)
            self.assertEqual(e.exception.code, "INVALID_ARGUMENT")
        self.assertEqual(svc.discard([rid], owner=2), [])
        with self.assertRaises(WorkerError) as e:  # no --artifact-root
            svc.rollout(rollout_req(delivery={"mode": "reference"}), owner=1)
        self.assertEqual(e.exception.code, "NOT_SUPPORTED")
        svc.update({"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, owner=1)
        with self.assertRaises(WorkerError):
            svc.update({"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, owner=1)
        self.assertEqual(svc.held_count(), 0)

    def test_replay_gives_identical_trajectories_and_update(self) -> None:
        a, b = make_service(), make_service()
        sampler = {"steps": 8, "sdeWindow": {"start": 1, "end": 4}}
        rid, frames, _, _ = a.rollout(rollout_req(seed=21, sampler=sampler), owner=1)
        ta = a._held[rid].trajectory
        _, tb = b.grpo.sample(PROMPTS, 4, 21, b.sampler.with_overrides(sampler))
        self.assertEqual(len(ta.steps), 3)
        for sa, sb in zip(ta.steps, tb.steps):
            self.assertTrue(torch.equal(sa.before, sb.before) and torch.equal(sa.after, sb.after))
            self.assertTrue(torch.equal(sa.logp, sb.logp))
        ra = a.update({"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, owner=1)
        rb = b.update({"rollouts": [], "replays": [{"prompts": PROMPTS, "groupSize": 4, "seed": 21, "sampler": sampler,
                                                      "advantages": ADV}]}, owner=1)
        self.assertEqual(ra["policyDigest"], rb["policyDigest"])
        self.assertEqual(ra, rb)


if __name__ == "__main__":
    unittest.main()
