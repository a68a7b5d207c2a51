"""save/restore of the training state: round trip, restart, refusal of corrupt or foreign checkpoints."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import unittest

import numpy as np

from helpers import ADV, make_service, rollout_req
from vrgrpo_worker.errors import WorkerError


class StateTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="vrgrpo-state-")
        self.root = os.path.join(self.tmp, "state")
        self.svc = make_service(state_root=self.root)

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _train(self, svc, seed: int) -> dict:
        rid, *_ = svc.rollout(rollout_req(seed=seed), owner=1)
        return svc.update({"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, owner=1)

    def _expect(self, code: str, fn, *args) -> None:
        with self.assertRaises(WorkerError) as e:
            fn(*args)
        self.assertEqual(e.exception.code, code, e.exception.message)

    def test_round_trip_and_restart(self) -> None:
        self._train(self.svc, 1)
        saved = self.svc.save("step-000001")
        self.assertEqual(saved["policyUpdates"], 1)
        self.assertEqual(saved["policyDigest"], self.svc.grpo.digest())
        arrays0, _ = self.svc.grpo.export_state()
        self._train(self.svc, 2)
        self.assertNotEqual(self.svc.grpo.digest(), saved["policyDigest"])
        rid, *_ = self.svc.rollout(rollout_req(seed=3), owner=5)
        restored = self.svc.restore(saved["ref"])
        self.assertEqual((restored["policyUpdates"], restored["policyDigest"]), (1, saved["policyDigest"]))
        arrays1, _ = self.svc.grpo.export_state()
        for k in arrays0:
            self.assertTrue((arrays0[k] == arrays1[k]).all(), k)
        self.assertEqual(self.svc.held_count(), 0)  # restore releases every rollout
        self._expect("INVALID_ARGUMENT", self.svc.update, {"rollouts": [{"rolloutId": rid, "advantages": ADV}]}, 5)
        # after a "restart": a fresh worker on the same state root, same training continues identically
        fresh = make_service(state_root=self.root)
        self.assertEqual(fresh.restore(saved["ref"])["policyDigest"], saved["policyDigest"])
        self.assertEqual(self._train(fresh, 9)["policyDigest"], self._train(self.svc, 9)["policyDigest"])

    def test_same_tag_overwrites_atomically(self) -> None:
        first = self.svc.save("t")
        self._train(self.svc, 1)
        second = self.svc.save("t")
        self.assertEqual(first["ref"], second["ref"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.root, "checkpoints"))), ["t"])
        self.assertEqual(self.svc.restore(second["ref"])["policyUpdates"], 1)

    def test_corrupt_states_are_refused_and_the_current_state_kept(self) -> None:
        self._train(self.svc, 1)
        ref = self.svc.save("good")["ref"]
        self._train(self.svc, 2)
        digest, updates = self.svc.grpo.digest(), self.svc.grpo.policy_updates
        good = os.path.join(self.root, ref)

        def variant(name: str, mutate) -> str:
            dst = os.path.join(self.root, "checkpoints", name)
            shutil.copytree(good, dst)
            mutate(dst)
            return f"checkpoints/{name}"

        def nan_weights(d: str) -> None:
            with np.load(os.path.join(d, "state.npz")) as z:
                arrays = {k: z[k] for k in z.files}
            key = next(k for k in arrays if k.startswith("param/"))
            arrays[key] = arrays[key].copy()
            arrays[key].flat[0] = np.nan
            np.savez(os.path.join(d, "state.npz"), **arrays)

        def wrong_shape(d: str) -> None:
            with np.load(os.path.join(d, "state.npz")) as z:
                arrays = {k: z[k] for k in z.files}
            key = next(k for k in arrays if k.startswith("param/"))
            arrays[key] = arrays[key][:1]
            np.savez(os.path.join(d, "state.npz"), **arrays)

        def truncated(d: str) -> None:
            with open(os.path.join(d, "state.npz"), "r+b") as fh:
                fh.truncate(100)

        def bad_manifest(d: str) -> None:
            with open(os.path.join(d, "manifest.json"), "w") as fh:
                fh.write("{not json")

        def negative_updates(d: str) -> None:
            with open(os.path.join(d, "manifest.json")) as fh:
                meta = json.load(fh)
            meta["policyUpdates"] = -1
            with open(os.path.join(d, "manifest.json"), "w") as fh:
                json.dump(meta, fh)

        for name, mutate in (("nan", nan_weights), ("shape", wrong_shape), ("trunc", truncated),
                             ("manifest", bad_manifest), ("updates", negative_updates)):
            self._expect("GENERATOR_STATE_CORRUPT", self.svc.restore, variant(name, mutate))
            self.assertEqual((self.svc.grpo.digest(), self.svc.grpo.policy_updates), (digest, updates), name)
        self.assertEqual(self.svc.restore(ref)["policyUpdates"], 1)

    def test_refs_outside_the_root_or_missing(self) -> None:
        self.svc.save("a")
        outside = os.path.join(self.tmp, "outside")
        shutil.copytree(os.path.join(self.root, "checkpoints", "a"), outside)
        os.symlink(outside, os.path.join(self.root, "checkpoints", "link"))
        for ref in ("../outside", outside, "checkpoints/link", "checkpoints/../../outside", "."):
            self._expect("FORBIDDEN_PATH", self.svc.restore, ref)
        self._expect("CHECKPOINT_NOT_FOUND", self.svc.restore, "checkpoints/nope")
        self._expect("NOT_SUPPORTED", make_service().save, "x")
        self._expect("NOT_SUPPORTED", make_service().restore, "checkpoints/a")


if __name__ == "__main__":
    unittest.main()
