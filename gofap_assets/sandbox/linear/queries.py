"""Queries the sandbox is exercised with (tests, demo, benchmarks), shaped like the importer's.

Kept in one place so a test can check that every one of them validates against Linear's full
published schema as well as the sandbox's subset.
"""

ISSUE_FIELDS = """
  id identifier number title description priority priorityLabel estimate url branchName
  createdAt updatedAt archivedAt autoArchivedAt autoClosedAt canceledAt completedAt startedAt
  dueDate trashed labelIds
  state { id name type color }
  team { id key name }
  assignee { id name email }
  creator { id name }
  project { id name }
  cycle { id number }
  parent { id identifier }
"""

ISSUES_PAGE = """
query SandboxIssues($first: Int, $after: String, $filter: IssueFilter,
                    $orderBy: PaginationOrderBy, $includeArchived: Boolean) {
  issues(first: $first, after: $after, filter: $filter, orderBy: $orderBy,
         includeArchived: $includeArchived) {
    nodes { ISSUE_FIELDS }
    pageInfo { hasNextPage endCursor startCursor hasPreviousPage }
  }
}
""".replace("ISSUE_FIELDS", ISSUE_FIELDS)

ISSUES_BACKWARD = """
query SandboxIssuesBackward($last: Int, $before: String, $orderBy: PaginationOrderBy,
                            $includeArchived: Boolean) {
  issues(last: $last, before: $before, orderBy: $orderBy, includeArchived: $includeArchived) {
    edges { cursor node { id identifier updatedAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

TEAM_ISSUES = """
query SandboxTeamIssues($id: String!, $first: Int, $after: String) {
  team(id: $id) {
    id key name
    issues(first: $first, after: $after, includeArchived: true) {
      nodes { id identifier team { key } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

TEAMS = """
query SandboxTeams($first: Int, $after: String, $filter: TeamFilter, $includeArchived: Boolean) {
  teams(first: $first, after: $after, filter: $filter, includeArchived: $includeArchived) {
    nodes { id key name description private createdAt updatedAt archivedAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""

USERS = """
query SandboxUsers($first: Int, $after: String, $filter: UserFilter, $includeArchived: Boolean,
                   $includeDisabled: Boolean) {
  users(first: $first, after: $after, filter: $filter, includeArchived: $includeArchived,
        includeDisabled: $includeDisabled) {
    nodes { id name displayName email active admin guest app createdAt updatedAt archivedAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""

PROJECTS = """
query SandboxProjects($first: Int, $after: String, $filter: ProjectFilter,
                      $includeArchived: Boolean) {
  projects(first: $first, after: $after, filter: $filter, includeArchived: $includeArchived) {
    nodes {
      id name description state status { id name type } url startDate targetDate progress
      createdAt updatedAt archivedAt completedAt canceledAt trashed lead { id }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

COMMENTS = """
query SandboxComments($first: Int, $after: String, $filter: CommentFilter,
                      $orderBy: PaginationOrderBy, $includeArchived: Boolean) {
  comments(first: $first, after: $after, filter: $filter, orderBy: $orderBy,
           includeArchived: $includeArchived) {
    nodes {
      id body url createdAt updatedAt archivedAt editedAt resolvedAt issueId parentId
      user { id } issue { id identifier team { id key } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CYCLES = """
query SandboxCycles($first: Int, $after: String, $filter: CycleFilter,
                    $includeArchived: Boolean) {
  cycles(first: $first, after: $after, filter: $filter, includeArchived: $includeArchived) {
    nodes {
      id number name description startsAt endsAt completedAt isActive isFuture isPast progress
      createdAt updatedAt archivedAt autoArchivedAt team { id key }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

WORKFLOW_STATES = """
query SandboxWorkflowStates($first: Int, $after: String, $filter: WorkflowStateFilter) {
  workflowStates(first: $first, after: $after, filter: $filter, includeArchived: true) {
    nodes {
      id name type description color position createdAt updatedAt archivedAt team { id key }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

LABELS = """
query SandboxLabels($first: Int, $after: String, $filter: IssueLabelFilter,
                    $includeArchived: Boolean) {
  issueLabels(first: $first, after: $after, filter: $filter,
              includeArchived: $includeArchived) {
    nodes {
      id name description color isGroup createdAt updatedAt archivedAt
      team { id key } parent { id name }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

VIEWER = """
query SandboxViewer {
  viewer { id name email admin }
  organization { id name urlKey }
  rateLimitStatus { identifier kind limits { type allowedAmount remainingAmount reset period } }
}
"""

ALL = {"ISSUES_PAGE": ISSUES_PAGE, "ISSUES_BACKWARD": ISSUES_BACKWARD,
       "TEAM_ISSUES": TEAM_ISSUES, "TEAMS": TEAMS, "USERS": USERS, "PROJECTS": PROJECTS,
       "VIEWER": VIEWER, "COMMENTS": COMMENTS, "CYCLES": CYCLES,
       "WORKFLOW_STATES": WORKFLOW_STATES, "LABELS": LABELS}
