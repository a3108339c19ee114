"""Dynamic partitions (repositories, teams) kept in step with a service's listing."""

from collections.abc import Iterable

import dagster as dg

_BATCH = 500


class SyncConfig(dg.Config):
    """Run configuration shared by every sync asset."""

    full: bool = False
    """Re-read everything and mark what disappeared, instead of reading only what changed."""


def sync_partition_keys(instance: dg.DagsterInstance,
                        partitions: dg.DynamicPartitionsDefinition, listed: Iterable[str], *,
                        complete: bool) -> tuple[list[str], list[str]]:
    """Add new keys in batches; drop vanished ones only after a complete listing.

    Returns (added, removed). The warehouse rows of a removed key are kept.
    """
    name = partitions.name
    assert name is not None, "dynamic partitions need a name"
    existing = set(instance.get_dynamic_partitions(name))
    wanted = set(listed)
    added = sorted(wanted - existing)
    for start in range(0, len(added), _BATCH):
        instance.add_dynamic_partitions(name, added[start:start + _BATCH])
    removed = sorted(existing - wanted) if complete else []
    for key in removed:
        instance.delete_dynamic_partition(name, key)
    return added, removed
