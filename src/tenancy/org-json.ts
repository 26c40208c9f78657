import type { Team } from './teams/team-store.ts';
import type { TenantUser } from './users/user-admin-store.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** A member as `/api/v1/users` and `tessera user` show them. */
export function toUserJson({ created_ms, joined_ms, ...user }: TenantUser) {
  return { ...user, created_at: iso(created_ms), joined_at: iso(joined_ms) };
}

/** A team as `/api/v1/teams` and `tessera team` show it. */
export function toTeamJson(team: Team) {
  return {
    id: team.id,
    name: team.name,
    description: team.description,
    created_at: iso(team.created_ms),
    updated_at: iso(team.updated_ms),
  };
}
