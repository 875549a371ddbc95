//! One page of a listing, with the key to resume after its last item.

use serde::Serialize;

/// Largest page a caller may ask for; the default when it asks for none.
pub const MAX_PAGE_SIZE: u16 = 100;
pub const DEFAULT_PAGE_SIZE: u16 = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    /// The key of the last item returned when more may follow.
    pub next: Option<K>,
}

/// A page size a caller asked for, clamped to what the store serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    /// Pages of the walks that read a whole listing (the scaler's, of every
    /// group), past `MAX_PAGE_SIZE`, which bounds what a caller may ask for:
    /// fewer round trips; DynamoDB still ends a page at 1 MB.
    pub const WALK: PageSize = PageSize(1000);

    pub fn parse(requested: Option<u32>) -> Result<Self, crate::InvalidInput> {
        match requested {
            None => Ok(Self(DEFAULT_PAGE_SIZE)),
            Some(n) if (1..=u32::from(MAX_PAGE_SIZE)).contains(&n) => Ok(Self(n as u16)),
            Some(n) => Err(crate::InvalidInput::one(
                "limit",
                "range",
                format!("limit must be between 1 and {MAX_PAGE_SIZE}, got {n}"),
            )),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}
