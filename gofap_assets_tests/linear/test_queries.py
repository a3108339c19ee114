"""Every document the client sends is valid against Linear's published schema and under its
10,000-point complexity cap at the page size the client uses."""

import pytest
from graphql import GraphQLSchema, parse, validate

from gofap_assets.linear.queries import (
    COMPLEXITY_LIMIT,
    DOCUMENTS,
    ISSUES,
    LISTINGS,
    MAX_PAGE_SIZE,
    USERS,
    complexity,
    page_size_for,
)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_linears_schema(linear_schema: GraphQLSchema,
                                                  name: str) -> None:
    errors = validate(linear_schema, parse(DOCUMENTS[name]))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda listing: listing.name)
def test_listings_page_at_the_largest_size_within_the_complexity_cap(listing) -> None:
    assert page_size_for(listing.document) == MAX_PAGE_SIZE
    assert complexity(listing.document, {"first": MAX_PAGE_SIZE}) < COMPLEXITY_LIMIT


def test_listings_order_by_updated_at_and_include_archived_and_disabled() -> None:
    for listing in LISTINGS:
        assert "orderBy: updatedAt" in listing.document
        assert "includeArchived: true" in listing.document
    assert "includeDisabled: true" in USERS.document


def test_complexity_follows_linears_rule() -> None:
    # 0.1 per property, 1 per object, connections multiply their children (default 50).
    document = "query { issues(first: 10) { nodes { id title team { id key } } } }"
    # nodes: 1 + 0.2 + (team: 1 + 0.2) = 2.4 per issue; x10 = 24; + 1 for the connection.
    assert complexity(document) == 25
    assert complexity("query { teams { nodes { id } } }") == 56  # 1 + 50 * 1.1
    assert complexity("query Q($n: Int!) { teams(first: $n) { nodes { id } } }", {"n": 4}) == 6


def test_a_heavy_document_gets_a_smaller_page() -> None:
    nested = "children(first: 50) { nodes { id title } }"
    heavy = ISSUES.document.replace("cycle { id number }", f"cycle {{ id number }} {nested}")
    size = page_size_for(heavy)
    assert size < MAX_PAGE_SIZE
    assert complexity(heavy, {"first": size}) <= COMPLEXITY_LIMIT
    assert complexity(heavy, {"first": size + 1}) > COMPLEXITY_LIMIT
