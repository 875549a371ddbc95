//! Stream lookup: where a publisher sends a stream (its sticky origin) and
//! where a viewer plays it (an edge with room). The hot path of players.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::fleet_cache::{Fleet, FleetCache};
use super::seat_leases::SeatLeases;
use crate::admission::{Action, TOKEN_TTL};
use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::credentials::{NodeCredential, NodeCredentials};
use crate::group::{Claim, GroupStatus, NodeGroup, Role};
use crate::names::{AppName, GroupName, NodeId, Region, StreamKey, StreamName};
use crate::node::Node;
use crate::page::PageSize;
use crate::placement::{place, place_next, PlacementStrategy, Want};
use crate::ports::{GroupStore, NodeStore, RouteClaim, RouteStore, SeatStore, SeatTake, StoreError};
use crate::route::StreamRoute;
use crate::seats::SeatAsk;

#[derive(Debug, Clone, Copy)]
pub struct LookupSettings {
    /// Nodes silent for longer get no new sessions (default 3 × 5 s).
    pub stale_after: Duration,
    /// How long a warm instance reuses a group's node list (0 disables).
    pub fleet_cache_ttl: Duration,
    /// How long a warm instance reuses group specs and app claims.
    pub group_cache_ttl: Duration,
    /// Nodes take new sessions up to this % of their capacity (edges are
    /// packed up to it); the rest is headroom for joins in flight.
    pub pack_ceiling_pct: u8,
    /// What a 503 tells the caller to wait.
    pub retry_after: Duration,
    /// How long a stream's route is followed: long enough for its origin
    /// to report the stream (a few heartbeats), whose report then says
    /// where it is (a publisher coming back finds its origin by it). Short,
    /// so that anonymous publish lookups for streams nobody sends leave
    /// nothing that lasts.
    pub route_ttl: Duration,
    /// How long a warm instance hands out seats it took in a block
    /// (`seats`); at most `seats::MAX_LEASE` and half the nodes' report
    /// interval. Zero: one seat per write.
    pub seat_lease: Duration,
}

impl Default for LookupSettings {
    fn default() -> Self {
        Self {
            stale_after: Duration::from_secs(15),
            fleet_cache_ttl: Duration::from_secs(1),
            group_cache_ttl: Duration::from_secs(10),
            pack_ceiling_pct: 95,
            retry_after: Duration::from_secs(5),
            route_ttl: Duration::from_secs(60),
            seat_lease: Duration::from_secs(1),
        }
    }
}

/// A lookup as a caller asks it.
#[derive(Debug, Clone)]
pub struct StreamRequest {
    pub app: AppName,
    pub stream: StreamName,
    /// The group to use; otherwise the one that declares the app, or the default.
    pub group: Option<GroupName>,
    /// The caller's preferred region.
    pub region: Option<Region>,
    /// The protocol the caller will connect with (`whip`, `hls`…): only
    /// nodes reporting an endpoint for it are chosen. `None`: any node.
    pub protocol: Option<&'static str>,
}

/// The node a caller should connect to.
#[derive(Debug, Clone)]
pub struct Placement {
    pub group: GroupName,
    pub stream: StreamKey,
    pub node: Node,
    /// The admission token to present to the node, when its group requires them.
    pub token: Option<String>,
}

impl Placement {
    /// The node's URL for the stream over `protocol`, carrying the
    /// admission token if there is one.
    pub fn url(&self, protocol: &str) -> Option<String> {
        self.node.url(protocol, &self.stream.app, &self.stream.stream).map(|url| self.with_token(url))
    }

    /// The node's URL for the stream per protocol, each carrying the token.
    pub fn urls(&self) -> std::collections::BTreeMap<String, String> {
        let urls = self.node.urls(&self.stream.app, &self.stream.stream);
        urls.into_iter().map(|(protocol, url)| (protocol, self.with_token(url))).collect()
    }

    /// `url` with `token=<token>` in its query: where media servers hand it
    /// to their auth callbacks (nginx-rtmp's `on_publish`, SRS's hooks,
    /// MediaMTX's `authHTTPAddress`).
    fn with_token(&self, url: String) -> String {
        let Some(token) = &self.token else { return url };
        // In the query, before any fragment.
        let (base, fragment) = url.split_once('#').map_or((url.as_str(), None), |(b, f)| (b, Some(f)));
        let join = if base.contains('?') { '&' } else { '?' };
        match fragment {
            Some(fragment) => format!("{base}{join}token={token}#{fragment}"),
            None => format!("{base}{join}token={token}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no node group serves app {0}, and there is no default group")]
    NoGroupForApp(AppName),
    #[error("node group {0} does not exist")]
    GroupNotFound(GroupName),
    #[error("node group {0} is being deleted")]
    GroupDeleting(GroupName),
    #[error("stream {0} is not live")]
    NotLive(StreamKey),
    /// No node serves the protocol asked for (or the stream is live on an
    /// origin that does not): no scale-out would help, so no pressure.
    #[error("{0}")]
    NotServed(String),
    #[error("no {role} of node group {group} has room; retry in a few seconds")]
    NoRoom { group: GroupName, role: Role, retry_after: Duration },
    #[error("the credential is not valid for this node of this group")]
    Forbidden,
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// How often one route may be contested before giving up (each contest
/// means another lookup won; the next read sees its choice).
const ROUTE_ATTEMPTS: usize = 3;

/// How many seat writes one lookup may make before it answers "no room".
/// Each refusal teaches this instance the node as stored, so it is asked
/// in vain at most once per report; several in a row mean a crowd is
/// filling the fleet faster than this instance's view follows.
const SEAT_ATTEMPTS: usize = 8;

pub struct Lookups {
    groups: Arc<dyn GroupStore>,
    routes: Arc<dyn RouteStore>,
    seats: Arc<dyn SeatStore>,
    clock: Arc<dyn Clock>,
    credentials: NodeCredentials,
    settings: LookupSettings,
    fleets: Arc<FleetCache>,
    leases: SeatLeases,
    specs: TtlCache<GroupName, Option<Arc<NodeGroup>>>,
    claims: TtlCache<Claim, Option<GroupName>>,
    /// The deployment's only group, if it has one (the `default` alias).
    sole_group: TtlCache<(), Option<GroupName>>,
    pressure: super::pressure::PressureGate,
    tick_calls: super::tick_calls::TickCalls,
}

impl Lookups {
    pub fn new(
        groups: Arc<dyn GroupStore>,
        nodes: Arc<dyn NodeStore>,
        routes: Arc<dyn RouteStore>,
        seats: Arc<dyn SeatStore>,
        clock: Arc<dyn Clock>,
        credentials: NodeCredentials,
        settings: LookupSettings,
    ) -> Self {
        Self {
            fleets: FleetCache::new(nodes, clock.clone(), settings.fleet_cache_ttl),
            leases: SeatLeases::new(settings.seat_lease),
            groups,
            routes,
            seats,
            clock,
            credentials,
            specs: TtlCache::new(settings.group_cache_ttl),
            claims: TtlCache::new(settings.group_cache_ttl),
            sole_group: TtlCache::new(settings.group_cache_ttl),
            pressure: super::pressure::PressureGate::default(),
            tick_calls: super::tick_calls::TickCalls::default(),
            settings,
        }
    }

    /// Lookups that call the scaler for a tick when they find no room or
    /// seats cross a role's threshold (see `tick_calls`).
    pub fn calling_ticks(mut self, requests: Arc<dyn crate::ports::TickRequests>) -> Self {
        self.tick_calls = super::tick_calls::TickCalls::new(Some(requests));
        self
    }

    /// The origin a publisher sends `request`'s stream to: the stream's
    /// recorded origin while it is available, else the least-loaded origin
    /// with a seat: the route and the seat are written together, on
    /// condition that the route is still free, so that concurrent first
    /// publishers all get the same origin and only the winner holds a seat.
    pub async fn publish(&self, request: &StreamRequest) -> Result<Placement, LookupError> {
        let group = self.resolve(request).await?;
        let placement = self.publish_in(&group, request).await?;
        Ok(self.admitted(&group, placement, Action::Publish))
    }

    async fn publish_in(&self, group: &NodeGroup, request: &StreamRequest) -> Result<Placement, LookupError> {
        let name = group.name();
        let stream = StreamKey::new(request.app.clone(), request.stream.clone());
        let now = self.clock.now();
        let mut route = self.routes.get_route(name, &stream, true).await?;
        let mut fleet = self.fleets.get(name, false).await?;
        let mut reloaded = false;
        let want = self.want(group, Role::Origin, request, PlacementStrategy::LeastLoaded, &stream);
        let available = |node: &Node| node.is_available(now, self.settings.stale_after);
        let usable = |node: &Node| available(node) && node.serves(want.protocol);
        // Each failed write teaches something: another lookup's route, or a
        // full origin this view did not know.
        for _ in 0..ROUTE_ATTEMPTS + SEAT_ATTEMPTS {
            // An expired route is not followed; it is still what a new one
            // must replace (the write is conditional on its origin).
            if let Some(current) = route.as_ref().filter(|r| r.is_live(now)) {
                match fleet.position(&current.origin) {
                    // Its publisher took its seat when the route was made.
                    Some(i) if usable(&fleet.nodes[i]) => {
                        return Ok(self.placement(name, stream, &fleet, i));
                    }
                    // Recorded on a node that enrolled after this view loaded.
                    None if !reloaded => {
                        fleet = self.fleets.get(name, true).await?;
                        reloaded = true;
                        continue;
                    }
                    _ => {}
                }
            }
            // No usable route, but an origin already holds the stream (its
            // route expired, or its publisher bypassed the lookup): stay
            // there; the stream is in its report, so no seat is taken.
            let holder = self.live_origin(&fleet, None, &stream, now).filter(|&i| available(&fleet.nodes[i]));
            if let (Some(i), Some(protocol)) = (holder, want.protocol) {
                // Live there: a publisher over a protocol that origin does
                // not take must not move the stream (and its viewers) away.
                if !fleet.nodes[i].serves(Some(protocol)) {
                    return Err(LookupError::NotServed(format!(
                        "stream {stream} is live on an origin that takes no {protocol}"
                    )));
                }
            }
            let chosen = holder.or_else(|| place(&fleet.nodes, &fleet.seats_counted(), &want, now));
            let Some(i) = chosen else {
                return Err(self.refusal(group, &fleet, &want, request, now).await);
            };
            let expires = now + self.settings.route_ttl;
            let chosen = StreamRoute {
                group: name.clone(),
                stream: stream.clone(),
                origin: fleet.nodes[i].node_id.clone(),
                since: now,
                expires_at: expires,
            };
            let from = route.as_ref().map(|r| &r.origin);
            let claim = if holder.is_some() {
                let written = match from {
                    None => self.routes.create_route(&chosen, expires).await,
                    Some(from) => self.routes.move_route(&chosen, from, expires).await,
                };
                match written {
                    Ok(()) => RouteClaim::Claimed,
                    Err(StoreError::Conflict) => RouteClaim::RouteTaken,
                    Err(e) => return Err(e.into()),
                }
            } else {
                let ask = SeatAsk::for_node(&fleet.nodes[i], want.role_capacity, want.ceiling_pct);
                self.seats.claim_route(&chosen, from, expires, &fleet.nodes[i], &ask).await?
            };
            match claim {
                RouteClaim::Claimed => {
                    match &route {
                        None => {
                            tracing::info!(group = %name, stream = %stream, origin = %chosen.origin, "stream routed")
                        }
                        Some(old) => {
                            tracing::warn!(group = %name, stream = %stream, from = %old.origin, to = %chosen.origin, "stream moved to a live origin")
                        }
                    }
                    if holder.is_none() {
                        fleet.note_taken(i, fleet.seats_taken(i).saturating_add(1));
                    }
                    return Ok(self.placement(name, stream, &fleet, i));
                }
                // Another lookup recorded its choice first: use that one.
                RouteClaim::RouteTaken => route = self.routes.get_route(name, &stream, true).await?,
                RouteClaim::SeatRefused { stored } => {
                    self.fleets.learn(name, &mut fleet, i, stored.map(|n| *n))
                }
            }
        }
        Err(LookupError::Store(StoreError::Conflict))
    }

    /// The edge a viewer plays `request`'s stream from, with a seat (or its
    /// origin when the group has no edges). 404 when no origin holds the
    /// stream, 503 when no edge has a seat left.
    pub async fn subscribe(&self, request: &StreamRequest) -> Result<Placement, LookupError> {
        let group = self.resolve(request).await?;
        let placement = self.subscribe_in(&group, request).await?;
        Ok(self.admitted(&group, placement, Action::Play))
    }

    /// `placement` with the token its client presents to the node, when
    /// the group requires them.
    fn admitted(&self, group: &NodeGroup, mut placement: Placement, action: Action) -> Placement {
        if group.spec.require_admission_tokens {
            let key = self.credentials.admission_key(&placement.group, &placement.node.node_id);
            let expires = self.clock.now() + TOKEN_TTL;
            let (app, stream) = (&placement.stream.app, &placement.stream.stream);
            placement.token = Some(key.mint(&placement.node.node_id, app, stream, action, expires));
        }
        placement
    }

    async fn subscribe_in(
        &self,
        group: &NodeGroup,
        request: &StreamRequest,
    ) -> Result<Placement, LookupError> {
        let name = group.name();
        let stream = StreamKey::new(request.app.clone(), request.stream.clone());
        let now = self.clock.now();
        // Which origin holds the stream does not matter to an edge's
        // viewer: the route is read only to play from the origin itself.
        let (mut fleet, _) = self.fleet_with_live_origin(name, None, &stream, now).await?;

        let want = self.want(group, Role::Edge, request, PlacementStrategy::Pack, &stream);
        if let Some(i) = self.seat_anywhere(name, &mut fleet, &want, now).await? {
            self.seated(group, &fleet, i, now).await;
            return Ok(self.placement(name, stream, &fleet, i));
        }
        let edges_serving = fleet.nodes.iter().any(|n| {
            n.role == Role::Edge && n.is_available(now, self.settings.stale_after) && n.serves(want.protocol)
        });
        if edges_serving {
            return Err(self.no_room(group, Role::Edge, request.region.as_ref()).await);
        }
        // No edge at all: viewers play from the origin while it has seats.
        let route = self.routes.get_route(name, &stream, false).await?.filter(|r| r.is_live(now));
        let live = self.live_origin(&fleet, route.as_ref(), &stream, now);
        let edge_want = want.clone();
        let want = Want { role: Role::Origin, role_capacity: self.capacity_of(group, Role::Origin), ..want };
        match live.filter(|&i| fleet.nodes[i].serves(want.protocol)) {
            Some(origin) => {
                if self.seat_on(name, &mut fleet, origin, &want, now).await? {
                    self.seated(group, &fleet, origin, now).await;
                    return Ok(self.placement(name, stream, &fleet, origin));
                }
                Err(self.no_room(group, Role::Origin, request.region.as_ref()).await)
            }
            // Neither an edge nor the stream's origin serves the protocol.
            None if want.protocol.is_some() => {
                Err(self.refusal(group, &fleet, &edge_want, request, now).await)
            }
            None => Err(self.no_room(group, Role::Origin, request.region.as_ref()).await),
        }
    }

    /// Up to `count` more nodes `request` could play from after
    /// `placement`'s, best first, without seats: where a client falls back
    /// to if its node fails it (Red5 SDKs ask for a few). Best effort: a
    /// failed read gives none.
    pub async fn fallbacks(
        &self,
        request: &StreamRequest,
        placement: &Placement,
        count: usize,
    ) -> Vec<Placement> {
        // Viewers on an origin play the one that holds the stream: no other.
        if placement.node.role == Role::Origin {
            return Vec::new();
        }
        let (group, fleet) =
            match (self.resolve(request).await, self.fleets.get(&placement.group, false).await) {
                (Ok(group), Ok(fleet)) => (group, fleet),
                (Err(e), _) => {
                    tracing::warn!(error = %e, "no fallback nodes");
                    return Vec::new();
                }
                (_, Err(e)) => {
                    tracing::warn!(error = %e, "no fallback nodes");
                    return Vec::new();
                }
            };
        let now = self.clock.now();
        let want =
            self.want(&group, placement.node.role, request, PlacementStrategy::Pack, &placement.stream);
        let counted = self.counted(&placement.group, &fleet, now);
        let chosen: Vec<usize> = fleet.position(&placement.node.node_id).into_iter().collect();
        place_next(&fleet.nodes, &counted, &want, now, &chosen, count)
            .into_iter()
            .map(|i| {
                let fallback = self.placement(&placement.group, placement.stream.clone(), &fleet, i);
                self.admitted(&group, fallback, Action::Play)
            })
            .collect()
    }

    /// Why no node of `want`'s role could be given: none serves the
    /// protocol asked for (nothing the scaler could fix), or none has room.
    async fn refusal(
        &self,
        group: &NodeGroup,
        fleet: &Fleet,
        want: &Want<'_>,
        request: &StreamRequest,
        now: OffsetDateTime,
    ) -> LookupError {
        if let Some(protocol) = want.protocol {
            let serving = fleet.nodes.iter().any(|n| {
                n.role == want.role
                    && n.is_available(now, self.settings.stale_after)
                    && n.serves(Some(protocol))
            });
            if !serving {
                return LookupError::NotServed(format!(
                    "no {} of node group {} serves {protocol}",
                    want.role,
                    group.name()
                ));
            }
        }
        self.no_room(group, want.role, request.region.as_ref()).await
    }

    /// For an edge that must pull a stream: the origin holding it. Only a
    /// node of the group, with its own token, may ask.
    pub async fn origin_for_edge(
        &self,
        group: &GroupName,
        node: &NodeId,
        credential: &str,
        stream: StreamKey,
    ) -> Result<Placement, LookupError> {
        if !matches!(self.credentials.check(group, node, credential), Some(NodeCredential::Node { .. })) {
            return Err(LookupError::Forbidden);
        }
        let now = self.clock.now();
        let route = self.routes.get_route(group, &stream, false).await?.filter(|r| r.is_live(now));
        let (fleet, origin) = self.fleet_with_live_origin(group, route.as_ref(), &stream, now).await?;
        // A read, so the token's nonce is not held to the row here; a token
        // of a node the group no longer lists learns nothing.
        if !fleet.nodes.iter().any(|n| &n.node_id == node) {
            return Err(LookupError::Forbidden);
        }
        Ok(Placement { group: group.clone(), stream, node: fleet.nodes[origin].clone(), token: None })
    }

    /// The group's fleet and the index of the origin holding the stream. A
    /// cached view that knows no such origin is reloaded once before the
    /// answer is "not live": a stream that just started must not wait for
    /// the cache to expire.
    async fn fleet_with_live_origin(
        &self,
        group: &GroupName,
        route: Option<&StreamRoute>,
        stream: &StreamKey,
        now: OffsetDateTime,
    ) -> Result<(Fleet, usize), LookupError> {
        let mut fleet = self.fleets.get(group, false).await?;
        if fleet.cached && self.live_origin(&fleet, route, stream, now).is_none() {
            fleet = self.fleets.get(group, true).await?;
        }
        match self.live_origin(&fleet, route, stream, now) {
            Some(origin) => Ok((fleet, origin)),
            None => Err(LookupError::NotLive(stream.clone())),
        }
    }

    /// The origin holding the stream now: the routed one when it reports the
    /// stream, else any fresh origin that does (a publisher that bypassed
    /// the lookup).
    fn live_origin(
        &self,
        fleet: &Fleet,
        route: Option<&StreamRoute>,
        stream: &StreamKey,
        now: OffsetDateTime,
    ) -> Option<usize> {
        let holds = |n: &Node| {
            n.role == Role::Origin
                && n.is_fresh(now, self.settings.stale_after)
                && n.holds(&stream.app, &stream.stream)
        };
        route
            .and_then(|r| fleet.position(&r.origin))
            .filter(|&i| holds(&fleet.nodes[i]))
            .or_else(|| fleet.nodes.iter().position(holds))
    }

    fn placement(&self, group: &GroupName, stream: StreamKey, fleet: &Fleet, index: usize) -> Placement {
        Placement { group: group.clone(), stream, node: fleet.nodes[index].clone(), token: None }
    }

    /// A seat on the node `want` prefers: the chosen node is asked; refused,
    /// this view learns the node as stored and the choice is made again.
    /// `None` when no node has a seat (or too many refusals in a row).
    async fn seat_anywhere(
        &self,
        group: &GroupName,
        fleet: &mut Fleet,
        want: &Want<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<usize>, LookupError> {
        for _ in 0..SEAT_ATTEMPTS {
            // Leases are looked at as of now, as `ask_once` will: one that
            // lapsed during this lookup is no room.
            let counted = self.counted(group, fleet, self.clock.now());
            let Some(i) = place(&fleet.nodes, &counted, want, now) else {
                return Ok(None);
            };
            if self.ask_once(group, fleet, i, want, Reload::Allowed).await? {
                return Ok(Some(i));
            }
        }
        tracing::warn!(group = %group, role = %want.role, "no seat after {SEAT_ATTEMPTS} refused writes in a row");
        Ok(None)
    }

    /// A seat on `fleet.nodes[index]` itself, asked again once if a newer
    /// report of it has room.
    async fn seat_on(
        &self,
        group: &GroupName,
        fleet: &mut Fleet,
        index: usize,
        want: &Want<'_>,
        now: OffsetDateTime,
    ) -> Result<bool, LookupError> {
        for _ in 0..2 {
            let node = &fleet.nodes[index];
            let room = SeatAsk::for_node(node, want.role_capacity, want.ceiling_pct).room;
            let spare = self.leases.spare_on(group, node, self.clock.now());
            if !node.is_available(now, want.stale_after) || (spare == 0 && fleet.seats_taken(index) >= room) {
                return Ok(false);
            }
            if self.ask_once(group, fleet, index, want, Reload::Never).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A seat on `fleet.nodes[index]`: from this instance's lease on it, or
    /// by one write for a block of seats (the lookup's and a new lease's);
    /// refused, the view learns why (and, if `reload` allows, is read
    /// again: indices then change).
    async fn ask_once(
        &self,
        group: &GroupName,
        fleet: &mut Fleet,
        index: usize,
        want: &Want<'_>,
        reload: Reload,
    ) -> Result<bool, LookupError> {
        let now = self.clock.now();
        self.leases.asked(group, now);
        if self.leases.hand(group, &fleet.nodes[index], now) {
            return Ok(true);
        }
        let turn = self.leases.turn(group, &fleet.nodes[index].node_id).await;
        // The lookup before this one in the queue may have taken a block.
        let now = self.clock.now();
        let node = &fleet.nodes[index];
        if self.leases.hand(group, node, now) {
            return Ok(true);
        }
        let ask = SeatAsk::for_node(node, want.role_capacity, want.ceiling_pct);
        let room_left = ask.room.saturating_sub(fleet.seats_taken(index));
        if room_left == 0 {
            // Filled by the lookups before this one in the queue, as far as
            // this view knows: placement, asked again, moves on.
            return Ok(false);
        }
        let ask = ask.block(self.leases.block(group, room_left, now));
        let reservation = fleet.reserve(index, ask.count);
        let taken = self.seats.take_seat(node, &ask).await;
        if let (Ok(SeatTake::Taken { .. }), Some(report)) = (&taken, ask.report) {
            reservation.keep();
            // Its life runs from before the write: the write was granted at
            // that report some time after, never before.
            self.leases.keep(group, &node.node_id, report, ask.count, now);
        } else {
            // Given back before the view learns the node as stored.
            drop(reservation);
        }
        drop(turn);
        match taken? {
            SeatTake::Taken { seats_taken } => {
                fleet.note_taken(index, seats_taken);
                Ok(true)
            }
            SeatTake::Refused { stored: Some(stored) }
                if stored.last_sent_at > node.last_sent_at && fleet.cached && reload == Reload::Allowed =>
            {
                // Reported since this cached view was read: nodes report on
                // the same beat, so the others likely have too; one read of
                // the fleet beats a refused write per node.
                *fleet = self.fleets.knowing(group, &stored).await?;
                Ok(false)
            }
            SeatTake::Refused { stored } => {
                self.fleets.learn(group, fleet, index, stored.map(|node| *node));
                Ok(false)
            }
        }
    }

    /// Per node of `fleet`, the sessions placement counts on top of its
    /// report: the seats taken and carried, less those this instance's
    /// leases still hold for its own lookups (free for them).
    fn counted(&self, group: &GroupName, fleet: &Fleet, now: OffsetDateTime) -> Vec<u32> {
        let spare = self.leases.spare(group, &fleet.nodes, now);
        fleet
            .seats_counted()
            .into_iter()
            .zip(spare)
            .map(|(counted, spare)| counted.saturating_sub(spare))
            .collect()
    }

    fn want<'a>(
        &self,
        group: &NodeGroup,
        role: Role,
        request: &'a StreamRequest,
        strategy: PlacementStrategy,
        stream: &StreamKey,
    ) -> Want<'a> {
        Want {
            role,
            region: request.region.as_ref(),
            protocol: request.protocol,
            strategy,
            ceiling_pct: self.settings.pack_ceiling_pct,
            role_capacity: self.capacity_of(group, role),
            stale_after: self.settings.stale_after,
            seed: seed_of(stream),
        }
    }

    fn capacity_of(&self, group: &NodeGroup, role: Role) -> u32 {
        group.spec.roles.get(&role).map(|r| r.launch.connection_capacity).unwrap_or(1)
    }

    /// After a seat on `fleet.nodes[index]`: the seats in use of its role in
    /// its region, against their capacity, may have crossed the threshold.
    async fn seated(&self, group: &NodeGroup, fleet: &Fleet, index: usize, now: OffsetDateTime) {
        let seated = &fleet.nodes[index];
        let Some(spec) = group.spec.roles.get(&seated.role) else { return };
        let role_capacity = spec.launch.connection_capacity;
        let counted = fleet.seats_counted();
        let (mut held, mut capacity) = (0u64, 0u64);
        for (node, seats) in fleet.nodes.iter().zip(counted) {
            if node.role == seated.role
                && node.region == seated.region
                && node.is_available(now, self.settings.stale_after)
            {
                held += u64::from(node.load.sessions()) + u64::from(seats);
                capacity += u64::from(node.load.capacity_within(role_capacity));
            }
        }
        let threshold = spec.scale.scale_out_threshold_pct;
        self.tick_calls
            .seated(group.name(), seated.role, &seated.region, (held, capacity), threshold, now)
            .await;
    }

    /// Refuses for want of room, and tells the scaler (at most once a second
    /// per group, role and region from this instance).
    async fn no_room(&self, group: &NodeGroup, role: Role, region: Option<&Region>) -> LookupError {
        let region = region
            .filter(|r| group.spec.regions.iter().any(|spec| &spec.region == *r))
            .or_else(|| group.spec.regions.first().map(|r| &r.region));
        if let Some(region) = region {
            let now = self.clock.now();
            if let Some(count) = self.pressure.record(group.name(), role, region, now) {
                if let Err(e) = self.groups.add_pressure(group.name(), role, region, count).await {
                    tracing::warn!(group = %group.name(), error = %e, "could not record scale-out pressure");
                }
            }
            self.tick_calls.refused(group.name(), now).await;
        }
        tracing::warn!(group = %group.name(), role = %role, "lookup refused: no room");
        LookupError::NoRoom { group: group.name().clone(), role, retry_after: self.settings.retry_after }
    }

    /// The group serving a request: named, or claiming the app, or default.
    async fn resolve(&self, request: &StreamRequest) -> Result<Arc<NodeGroup>, LookupError> {
        let name = match &request.group {
            Some(name) => name.clone(),
            None => match self.claim_owner(Claim::App(request.app.clone())).await? {
                Some(owner) => owner,
                None => self
                    .claim_owner(Claim::Default)
                    .await?
                    .ok_or_else(|| LookupError::NoGroupForApp(request.app.clone()))?,
            },
        };
        let group = self.spec(&name).await?.ok_or(LookupError::GroupNotFound(name))?;
        if group.status == GroupStatus::Deleting {
            return Err(LookupError::GroupDeleting(group.name().clone()));
        }
        Ok(group)
    }

    /// The group a client names `default` (Red5 Pro SDKs do when set up
    /// for one group): the group of that name, else the group claiming
    /// the default, else the deployment's only group.
    pub async fn default_alias(&self) -> Result<GroupName, LookupError> {
        let named = GroupName::parse("default").expect("a valid group name");
        if self.spec(&named).await?.is_some() {
            return Ok(named);
        }
        let now = self.clock.now();
        if let Some(owner) = self.claim_owner(Claim::Default).await? {
            return Ok(owner);
        }
        let sole = self
            .sole_group
            .get_or_load(&(), now, async {
                let page = self.groups.list_groups(None, PageSize::parse(Some(2)).expect("in range")).await?;
                Ok::<_, StoreError>(match page.items.as_slice() {
                    [only] if page.next.is_none() => Some(only.name().clone()),
                    _ => None,
                })
            })
            .await?;
        sole.ok_or(LookupError::GroupNotFound(named))
    }

    /// The group's spec, as this warm instance last read it.
    async fn spec(&self, name: &GroupName) -> Result<Option<Arc<NodeGroup>>, StoreError> {
        let now = self.clock.now();
        self.specs
            .get_or_load(name, now, async { Ok(self.groups.get_group(name).await?.map(Arc::new)) })
            .await
    }

    async fn claim_owner(&self, claim: Claim) -> Result<Option<GroupName>, LookupError> {
        let now = self.clock.now();
        Ok(self.claims.get_or_load(&claim, now, self.groups.claim_owner(&claim)).await?)
    }
}

/// Whether a refused seat may reload the caller's fleet view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reload {
    Allowed,
    /// The caller holds an index into the view.
    Never,
}

/// Ties between equal nodes break by stream, so that one stream's viewers
/// go the same way and different streams spread.
fn seed_of(stream: &StreamKey) -> u64 {
    stream
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
