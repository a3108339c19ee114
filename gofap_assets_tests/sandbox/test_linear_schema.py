"""The Linear sandbox's schema is a true subset of Linear's published SDL, and the queries the
sandbox is exercised with are valid against the real schema too."""

from functools import cache

import pytest
from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_ast_schema,
    parse,
    validate,
)

from gofap_assets.sandbox.linear import queries
from gofap_assets.sandbox.linear.schema import SUBSET_PATH, build_subset_schema, extract_subset
from gofap_assets_tests.conftest import SHARED_DIR

LINEAR_SDL = SHARED_DIR / "api" / "linear-schema.graphql"

pytestmark = pytest.mark.skipif(not LINEAR_SDL.exists(),
                                reason=f"Linear's published schema not found at {LINEAR_SDL}")


@cache
def linear_document() -> DocumentNode:
    return parse(LINEAR_SDL.read_text(encoding="utf-8"), no_location=True)


@cache
def linear_schema() -> GraphQLSchema:
    return build_ast_schema(linear_document(), assume_valid_sdl=True)


def test_every_type_field_argument_and_input_field_exists_in_linear_with_the_same_type() -> None:
    full, subset = linear_schema(), build_subset_schema()
    checked = 0
    for name, mine in subset.type_map.items():
        if name.startswith("__"):
            continue
        theirs = full.get_type(name)
        assert theirs is not None, f"{name} is not in Linear's schema"
        assert type(theirs) is type(mine), f"{name} is a {type(theirs).__name__} in Linear"
        if isinstance(mine, GraphQLEnumType):
            assert set(mine.values) <= set(theirs.values), name  # type: ignore[attr-defined]
        if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
            assert {i.name for i in mine.interfaces} <= \
                {i.name for i in theirs.interfaces}, name  # type: ignore[attr-defined]
        if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in mine.fields.items():
                other = theirs.fields.get(field_name)  # type: ignore[attr-defined]
                where = f"{name}.{field_name}"
                assert other is not None, f"{where} is not in Linear's schema"
                assert str(field.type) == str(other.type), where
                for arg_name, arg in getattr(field, "args", {}).items():
                    assert arg_name in other.args, f"{where}({arg_name}) is not in Linear's"
                    assert str(arg.type) == str(other.args[arg_name].type), f"{where}({arg_name})"
                    checked += 1
                assert getattr(field, "deprecation_reason", None) == \
                    getattr(other, "deprecation_reason", None), where
                checked += 1
        elif isinstance(mine, GraphQLScalarType):
            checked += 1
    assert checked > 150


def test_the_subset_offers_what_the_importer_queries() -> None:
    subset = build_subset_schema()
    query = subset.query_type
    assert query is not None
    assert {"issues", "projects", "teams", "users", "team", "viewer", "organization",
            "rateLimitStatus"} <= set(query.fields)
    assert set(query.fields["users"].args) == {"after", "before", "first", "last", "filter",
                                               "includeArchived", "orderBy", "includeDisabled"}
    issue = subset.get_type("Issue")
    assert isinstance(issue, GraphQLObjectType)
    assert str(issue.fields["number"].type) == "Float!"
    assert str(issue.fields["assignee"].type) == "User"
    project = subset.get_type("Project")
    assert isinstance(project, GraphQLObjectType)
    assert project.fields["state"].deprecation_reason  # kept, deprecated as in Linear
    date_comparator = subset.get_type("DateComparator")
    assert isinstance(date_comparator, GraphQLInputObjectType)
    assert set(date_comparator.fields) == {"eq", "neq", "gt", "gte", "lt", "lte", "in", "nin"}


def test_the_shipped_subset_is_exactly_what_the_cut_of_linears_sdl_gives() -> None:
    regenerated = extract_subset(linear_document())
    assert SUBSET_PATH.read_text(encoding="utf-8") == regenerated, (
        "linear_subset.graphql is stale: run "
        "python -m gofap_assets.sandbox.linear.schema <path to linear-schema.graphql>")


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_sandbox_queries_validate_against_linears_full_schema_and_the_subset(name: str) -> None:
    document = parse(queries.ALL[name])
    assert validate(linear_schema(), document) == []
    assert validate(build_subset_schema(), document) == []


def _inline_queries() -> dict[str, str]:
    """The ``Q_*`` query constants of the other Linear sandbox test modules."""
    from gofap_assets_tests.sandbox import (  # late: they import this package
        test_linear_app,
        test_linear_paging,
        test_linear_world,
    )
    return {f"{module.__name__.rsplit('.', 1)[1]}.{name}": value
            for module in (test_linear_app, test_linear_paging, test_linear_world)
            for name, value in vars(module).items() if name.startswith("Q_")}


@pytest.mark.parametrize("name", sorted(_inline_queries()))
def test_the_tests_queries_validate_against_linears_full_schema(name: str) -> None:
    assert validate(linear_schema(), parse(_inline_queries()[name])) == []
