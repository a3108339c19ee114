"""Query cost and a faster path through graphql-core's executor for the sandbox's dict nodes.

graphql-core resolves every field through the full machinery (resolve info, argument coercion,
completion), which costs ~30 ms for a 250-issue page. Nodes here are plain dicts, so scalar fields
without resolvers can be read and serialized directly; everything else (objects, lists of objects,
callables that resolve lazily or fail on purpose, nulls in non-null positions) still goes through
graphql-core, so results and errors are the same, only quicker (~8 ms per page).
"""

import inspect
import math
from collections.abc import Mapping
from typing import Any

import graphql
from graphql import (
    ExecutionContext,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
    is_leaf_type,
    located_error,
    value_from_ast,
    value_from_ast_untyped,
)
from graphql.pyutils import Path
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

DEFAULT_PAGE = 50
# The inline path mirrors graphql-core 3.2.x internals (3.3 changed execute_fields; early 3.2
# releases had no `path` in handle_field_error); elsewhere graphql-core runs unaided.
_FAST_PATH = graphql.version_info < (3, 3) and "path" in inspect.signature(
    ExecutionContext.handle_field_error).parameters


class FastExecutionContext(ExecutionContext):
    """Completes resolver-less fields of dict sources inline: scalars are serialized directly
    and objects (single or in non-null lists) recurse without building resolve infos."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[str, int], list[tuple[str, list[FieldNode], Any]]] = {}

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any, path: Any,
                       fields: Any, *rest: Any) -> Any:
        if rest or not _FAST_PATH or not isinstance(source_value, dict):
            return super().execute_fields(parent_type, source_value, path, fields, *rest)
        # graphql-core memoizes sub-field collection per execution, so `fields` is one object
        # for every node of a list and its id is a stable key while it lives.
        plan_key = (parent_type.name, id(fields))
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = self._plans[plan_key] = [
                (name, nodes, _plan(parent_type, nodes[0].name.value))
                for name, nodes in fields.items()]
        results: dict[str, Any] = {}
        get = source_value.get
        for response_name, field_nodes, step in plan:
            if step is not None:
                kind, field_name, non_null, target, is_list, field_type = step
                value = get(field_name)
                if value is None:
                    if not non_null:
                        results[response_name] = None
                        continue
                elif not callable(value):
                    if kind == "leaf":
                        try:
                            results[response_name] = ([target(item) for item in value]
                                                      if is_list else target(value))
                            continue
                        except Exception:  # graphql-core reports it, on the slow path below
                            pass
                    elif (is_list and all(type(item) is dict for item in value)) or \
                            type(value) is dict:
                        results[response_name] = self._objects(
                            target, field_type, field_nodes, value, is_list,
                            Path(path, response_name, parent_type.name))
                        continue
            result = self.execute_field(parent_type, source_value, field_nodes,
                                        Path(path, response_name, parent_type.name))
            if result is not Undefined:
                results[response_name] = result
        return results

    def _objects(self, object_type: GraphQLObjectType, field_type: Any,
                 field_nodes: list[FieldNode], value: Any, is_list: bool, path: Path) -> Any:
        """What ``execute_field`` + ``complete_value`` do for dict objects, with the same error
        handling: a failure nulls the nearest nullable field and is recorded once."""
        subfields = self.collect_subfields(object_type, field_nodes)
        try:
            if is_list:
                return [self.execute_fields(object_type, item, Path(path, index, None), subfields)
                        for index, item in enumerate(value)]
            return self.execute_fields(object_type, value, path, subfields)
        except Exception as raw_error:  # as graphql-core's execute_field does
            self.handle_field_error(located_error(raw_error, field_nodes, path.as_list()),
                                    field_type, path)
            return None


def _plan(parent_type: GraphQLObjectType, field_name: str) -> tuple[Any, ...] | None:
    """How to complete a field inline, or None to leave it to graphql-core."""
    field = parent_type.fields.get(field_name)
    if field is None or field.resolve is not None:
        return None
    field_type = inner = field.type
    non_null = isinstance(inner, GraphQLNonNull)
    if non_null:
        inner = inner.of_type
    is_list = isinstance(inner, GraphQLList)
    if is_list:
        if not isinstance(inner.of_type, GraphQLNonNull):
            return None
        inner = inner.of_type.of_type
    if is_leaf_type(inner):
        return "leaf", field_name, non_null, inner.serialize, is_list, field_type
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return "object", field_name, non_null, inner, is_list, field_type
    return None


def never_awaitable(_value: Any) -> bool:
    """Resolvers here are synchronous; skipping graphql-core's awaitable checks saves ~15%."""
    return False


# -- complexity -----------------------------------------------------------------------------------

def complexity(schema: GraphQLSchema, document: graphql.DocumentNode,
               operation: OperationDefinitionNode, variables: Mapping[str, Any] | None) -> int:
    """Linear's published rule, approximately: each property 0.1 point, each object 1 point, and
    a connection multiplies its children's points by ``first``/``last`` (default 50); rounded up."""
    values = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    root = {"query": schema.query_type, "mutation": schema.mutation_type,
            "subscription": schema.subscription_type}[operation.operation.value]
    if root is None:
        return 0
    cost = _cost(schema, operation.selection_set, root, fragments, values, set())
    return math.ceil(round(cost, 6))


def _cost(schema: GraphQLSchema, selection_set: SelectionSetNode | None, parent: Any,
          fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any],
          visiting: set[str]) -> float:
    if selection_set is None:
        return 0.0
    total = 0.0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(schema, selection, parent, fragments, variables, visiting)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            total += _cost(schema, selection.selection_set, target, fragments, variables,
                           visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                continue
            total += _cost(schema, fragment.selection_set,
                           schema.get_type(fragment.type_condition.name.value), fragments,
                           variables, visiting | {name})
    return total


def _field_cost(schema: GraphQLSchema, node: FieldNode, parent: Any,
                fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any],
                visiting: set[str]) -> float:
    name = node.name.value
    if name == "__schema":
        field = SchemaMetaFieldDef
    elif name == "__type":
        field = TypeMetaFieldDef
    else:
        field = getattr(parent, "fields", {}).get(name)
    if field is None:
        return 0.1  # __typename, or a field validation has already rejected
    named = get_named_type(field.type)
    if is_leaf_type(named):
        return 0.1
    children = _cost(schema, node.selection_set, named, fragments, variables, visiting)
    if named.name.endswith("Connection"):
        return 1 + _page_size(node, variables) * children
    return 1 + children


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            value = value_from_ast(argument.value, GraphQLInt, variables)
            if isinstance(value, int) and value is not Undefined:
                return max(value, 0)
    return DEFAULT_PAGE
