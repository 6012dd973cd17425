import numpy as np

from transforms.dedup.components import connected_components


def test_connected_components_join_chains():
    labels = connected_components(5, np.array([[0, 1], [1, 2], [3, 4]]))
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4]


def test_no_nodes_no_labels_and_lone_nodes_are_their_own_component():
    assert len(connected_components(0, np.empty((0, 2), np.int64))) == 0
    labels = connected_components(3, np.empty((0, 2), np.int64))
    assert len(set(labels.tolist())) == 3
