//! Matching request paths to catalog operations. Literal segments win over parameters, so
//! `/users/current` is not `/users/{user_id}`.

use std::collections::HashMap;

use lumos_api::{Catalog, Operation};

enum Seg {
    Lit(String),
    Param(String),
}

struct Route {
    segs: Vec<Seg>,
    literals: usize,
    op: &'static Operation,
}

pub struct Routes {
    by_len: HashMap<usize, Vec<Route>>,
}

pub enum Miss {
    NotFound,
    /// The path exists with these methods only.
    MethodNotAllowed(Vec<&'static str>),
}

pub struct Matched {
    pub op: &'static Operation,
    pub path: Vec<(String, String)>,
}

impl Routes {
    pub fn new(catalog: &'static Catalog) -> Self {
        let mut by_len: HashMap<usize, Vec<Route>> = HashMap::new();
        for op in catalog.operations() {
            let segs: Vec<Seg> = op
                .path
                .trim_start_matches('/')
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Seg::Param(name.to_owned()),
                        None => Seg::Lit(s.to_owned()),
                    },
                )
                .collect();
            let literals = segs.iter().filter(|s| matches!(s, Seg::Lit(_))).count();
            by_len
                .entry(segs.len())
                .or_default()
                .push(Route { segs, literals, op });
        }
        for routes in by_len.values_mut() {
            routes.sort_by_key(|r| std::cmp::Reverse(r.literals));
        }
        Self { by_len }
    }

    pub fn find(&self, method: &str, path: &str) -> Result<Matched, Miss> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let Some(routes) = self.by_len.get(&parts.len()) else {
            return Err(Miss::NotFound);
        };
        let mut allowed: Vec<&'static str> = Vec::new();
        // The most specific path that fits (most literal segments) names the methods a 405
        // allows, as Starlette's first partial match does: `OPTIONS /apps/categories` allows
        // GET, not the methods of `/apps/{app_id}`.
        let mut allowed_of: Option<usize> = None;
        for r in routes {
            let fits = r.segs.iter().zip(&parts).all(|(s, p)| match s {
                Seg::Lit(l) => l == p,
                Seg::Param(_) => !p.is_empty(),
            });
            if !fits {
                continue;
            }
            if r.op.method != method {
                if *allowed_of.get_or_insert(r.literals) == r.literals
                    && !allowed.contains(&r.op.method.as_str())
                {
                    allowed.push(r.op.method.as_str());
                }
                continue;
            }
            let path = r
                .segs
                .iter()
                .zip(&parts)
                .filter_map(|(s, p)| match s {
                    Seg::Param(name) => Some((
                        name.clone(),
                        percent_encoding::percent_decode_str(p)
                            .decode_utf8_lossy()
                            .into_owned(),
                    )),
                    Seg::Lit(_) => None,
                })
                .collect();
            return Ok(Matched { op: r.op, path });
        }
        Err(if allowed.is_empty() {
            Miss::NotFound
        } else {
            Miss::MethodNotAllowed(allowed)
        })
    }
}
