import numpy as np

from training import groundtruth as gt
from bake.correspond import correspond, stack
from core.points import to_point_cloud


def test_vertex_positions_from_canonical_lookup(head):
    seq = gt.make_sequence(head, 4, seed=8, id_scale=1.0)
    t = 3
    pred, box = gt.render_prediction(head, seq.verts_cam[t], seq.translation[t], seq.K, 160)
    cloud = to_point_cloud(pred, box, seq.K, head, t)
    obs = correspond(cloud, head)
    seen = obs.confidence > 0
    assert seen.sum() > 1000 and not seen[head.region_mask("interior", "scalp")].any()
    # re-anchored at the true origin depth, observed vertices sit on the true ones
    pos = obs.position + (seq.translation[t] @ box.view_axis(seq.K) - cloud.z_origin) * obs.ray
    err = np.linalg.norm(pos[seen] - seq.verts_cam[t][seen], axis=1)
    assert np.median(err) < 0.4 and np.percentile(err, 90) < 1.0
    Y, R, C = stack([obs, None], head.n_vertices)
    assert Y.shape == (2, head.n_vertices, 3) and (C[1] == 0).all()
