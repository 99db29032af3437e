//! Working days for filing deadlines on the PRC calendar of the knowledge
//! base (holidays and make-up working days). For years the calendar does not
//! cover, weekends only are skipped and the result is marked approximate.

use std::sync::OnceLock;

use beian_kb::calendar::Calendar;
use chrono::{Datelike, NaiveDate, Weekday};

fn prc() -> Option<&'static Calendar> {
    static C: OnceLock<Option<Calendar>> = OnceLock::new();
    C.get_or_init(|| Calendar::prc().ok()).as_ref()
}

/// `date` plus `n` working days, and whether the PRC calendar was used (false: weekends only).
pub fn add_working_days(date: NaiveDate, n: u32) -> Result<(NaiveDate, bool), String> {
    if let Some(c) = prc()
        && let Ok(d) = c.add_working_days(date, n)
    {
        return Ok((d, true));
    }
    let mut d = date;
    let mut left = n;
    while left > 0 {
        d = d
            .succ_opt()
            .ok_or_else(|| format!("date overflow after {date}"))?;
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    Ok((d, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn national_day_is_skipped() {
        // 2025-09-26 launch: 1-8 October are holidays, 28 Sep and 11 Oct make-up days.
        let (d, exact) =
            add_working_days(NaiveDate::from_ymd_opt(2025, 9, 26).unwrap(), 10).unwrap();
        assert!(exact);
        assert!(d > NaiveDate::from_ymd_opt(2025, 10, 10).unwrap(), "{d}");
        let (w, exact) = add_working_days(NaiveDate::from_ymd_opt(1990, 3, 9).unwrap(), 1).unwrap();
        assert!(!exact);
        assert_eq!(w, NaiveDate::from_ymd_opt(1990, 3, 12).unwrap());
    }
}
