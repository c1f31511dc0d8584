"""The chain repository against real SQLite and PostgreSQL databases: the spec document
round trip, the info read from the last run and the schedules that fire a chain, the run
counters that leave the etag alone, and delete with its runs."""

from sqlalchemy import func, select

from sundial.domain.chains import (
    Chain,
    ChainEdge,
    ChainEdgeType,
    ChainNode,
    ChainRunStatus,
    ChainSpec,
)
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import ListQuery
from sundial.domain.metadata import ResourceMetadata
from sundial.domain.schedules import OverlapPolicy
from sundial.store.models import ChainRunNodeRow, ChainRunRow
from sundial.store.unit_of_work import UnitOfWork
from tests.support.chains import fire_chain_from, insert_run


def _spec(agent_id):
    return ChainSpec(
        nodes=(
            ChainNode(name="fetch", agent_id=agent_id, initial_message="go", data={"n": 1}),
            ChainNode(name="store", schedule_id="sched_x", variation_id="v1"),
        ),
        edges=(
            ChainEdge(
                from_node="fetch",
                to_node="store",
                type=ChainEdgeType.ON_COMPLETE,
                condition='status == "SUCCEEDED"',
                output_mapping={"rows": "output.rows"},
            ),
        ),
        overlap_policy=OverlapPolicy.CANCEL_OTHER,
        description="pipeline",
    )


def _add(tenant, name="chain"):
    chain_id = new_id(IdPrefix.CHAIN)
    now = tenant.clock.now()
    chain = Chain(
        metadata=ResourceMetadata(
            id=chain_id,
            account_id=tenant.principal.account_id,
            workspace_id=tenant.workspace_id,
            profile_id=tenant.principal.profile_id,
            name=name,
            labels={"team": "data"},
            created_at=now,
            updated_at=now,
        ),
        spec=_spec(tenant.agent_id),
    )
    with UnitOfWork(tenant.database, write=True) as uow:
        uow.chains.add(chain)
        uow.commit()
    return chain_id


def _get(tenant, chain_id):
    with UnitOfWork(tenant.database, write=False) as uow:
        return uow.chains.get(tenant.workspace_id, chain_id)


def test_a_chain_round_trips_and_lists_oldest_first(tenant):
    first, second = _add(tenant, "one"), _add(tenant, "two")

    got = _get(tenant, first)
    with UnitOfWork(tenant.database, write=False) as uow:
        page = uow.chains.list(tenant.workspace_id, ListQuery(limit=10))

    assert got is not None
    assert got.spec == _spec(tenant.agent_id)
    assert got.metadata.labels == {"team": "data"}
    assert got.info.created_by is not None
    assert got.info.created_by.metadata.id == tenant.principal.profile_id
    assert got.info.last_run_status is ChainRunStatus.UNSPECIFIED
    assert [c.metadata.id for c in page] == [first, second]


def test_info_has_the_last_run_and_the_schedules_that_fire_it(tenant):
    chain_id, other_id = _add(tenant), _add(tenant)
    firing = tenant.schedule()
    tenant.schedule()  # fires nothing
    fire_chain_from(tenant.database, firing, chain_id)
    before = _get(tenant, chain_id)
    common = {
        "account_id": tenant.principal.account_id,
        "workspace_id": tenant.workspace_id,
        "chain_id": chain_id,
    }
    insert_run(tenant.database, at=tenant.clock.now(), status=ChainRunStatus.FAILED, **common)
    last = insert_run(tenant.database, at=tenant.clock.now(), **common)

    after = _get(tenant, chain_id)
    with UnitOfWork(tenant.database, write=False) as uow:
        listed = {c.metadata.id: c for c in uow.chains.list(tenant.workspace_id, ListQuery())}

    assert after.info.schedule_ids == (firing,)
    assert listed[chain_id].info == after.info
    assert listed[other_id].info.schedule_ids == ()
    assert (after.info.run_count, after.info.last_run_id) == (2, last)
    assert after.info.last_run_status is ChainRunStatus.RUNNING
    # Runs are not changes of the chain: a guarded update still matches.
    assert after.metadata.etag == before.metadata.etag
    with UnitOfWork(tenant.database, write=False) as uow:
        assert uow.chains.has_running_runs(chain_id)
        assert not uow.chains.has_running_runs(other_id)


def test_update_bumps_the_etag_and_delete_takes_the_runs_along(tenant):
    chain_id = _add(tenant)
    run_id = insert_run(
        tenant.database,
        account_id=tenant.principal.account_id,
        workspace_id=tenant.workspace_id,
        chain_id=chain_id,
        at=tenant.clock.now(),
        status=ChainRunStatus.SUCCEEDED,
    )
    with UnitOfWork(tenant.database, write=True) as uow:
        uow.session.add(
            ChainRunNodeRow(
                chain_run_id=run_id,
                node_name="fetch",
                position=0,
                status="SUCCEEDED",
                objective_ids=[],
                objective_status="SUCCEEDED",
                updated_at=tenant.clock.now(),
            )
        )
        uow.commit()
    before = _get(tenant, chain_id)
    with UnitOfWork(tenant.database, write=True) as uow:
        current = uow.chains.get(tenant.workspace_id, chain_id, for_update=True)
        assert current is not None
        changed = ChainSpec(nodes=current.spec.nodes[:1])
        uow.chains.update(Chain(metadata=current.metadata, spec=changed))
        uow.commit()
    updated = _get(tenant, chain_id)

    with UnitOfWork(tenant.database, write=True) as uow:
        uow.chains.delete(tenant.workspace_id, chain_id)
        uow.commit()
    with UnitOfWork(tenant.database, write=False) as uow:
        runs = uow.session.scalar(select(func.count()).select_from(ChainRunRow))
        nodes = uow.session.scalar(select(func.count()).select_from(ChainRunNodeRow))

    assert updated.spec.nodes == before.spec.nodes[:1]
    assert updated.metadata.etag != before.metadata.etag
    assert _get(tenant, chain_id) is None
    assert (runs, nodes) == (0, 0)
