//! The export airlock's requests and reviews (R33, R34, R37–R39): what asks to leave,
//! frozen by its sha256; two committee reviewers blind to each other until both have
//! voted, a third when they disagree; final states that never change.

use serde::{Deserialize, Serialize};

use crate::{Decision, Rule};

/// What an output is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Intent {
    /// Use inside the requesting institution.
    InternalUse,
    /// A paper, poster or talk (industry publications wait for the embargo, R34).
    Publication,
    /// A patent filing (never held by the embargo, R34).
    PatentFiling,
    /// A notification to the forum (R33/R34).
    ForumNotification,
}

impl Intent {
    /// Parses the command line's word.
    ///
    /// # Errors
    ///
    /// An unknown intent, with the known ones.
    pub fn parse(text: &str) -> Result<Intent, String> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
            format!(
                "unknown intent {text:?}: internal-use, publication, patent-filing or forum-notification"
            )
        })
    }
}

/// A reviewer's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vote {
    /// The output may leave.
    Approve,
    /// The author must change it (a new request replaces this one).
    RequestChanges,
    /// It may not leave.
    Reject,
}

impl Vote {
    /// Parses the command line's word.
    ///
    /// # Errors
    ///
    /// An unknown vote.
    pub fn parse(text: &str) -> Result<Vote, String> {
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .map_err(|_| format!("unknown vote {text:?}: approve, request-changes or reject"))
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Waiting for reviews (none, one, or two that disagree).
    Submitted,
    /// Two reviewers (or two of three) approved: it may be released.
    Approved,
    /// The reviewers asked for changes: final; a new request replaces it.
    ChangesRequested,
    /// Refused: final.
    Rejected,
    /// Released: final.
    Released,
    /// Replaced by a changed object before it was decided: final.
    Superseded,
}

impl State {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Approved => "approved",
            State::ChangesRequested => "changes-requested",
            State::Rejected => "rejected",
            State::Released => "released",
            State::Superseded => "superseded",
        }
    }

    /// Parses a stored word.
    pub fn parse(text: &str) -> Option<State> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    /// Whether nothing changes it any more (an approved request may still be released).
    pub fn is_final(self) -> bool {
        !matches!(self, State::Submitted | State::Approved)
    }
}

/// A request to take an object out of the enclave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRequest {
    /// Its id.
    pub id: String,
    /// The project it comes from.
    pub project: String,
    /// Who asked.
    pub author: String,
    /// The object's file name.
    pub file_name: String,
    /// The object's sha256: it is frozen in the spool under this name.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// What it is for.
    pub intent: Intent,
    /// Why it should leave.
    pub justification: String,
    /// The cancer types its data come from (for the embargo clock).
    pub cancer_types: Vec<String>,
    /// The automatic verdict (`pass`, `review`, `fail`).
    pub verdict: String,
    /// The automatic findings.
    pub findings: serde_json::Value,
    /// Where it stands.
    pub state: State,
    /// When it was made.
    pub created: String,
    /// The request it replaces (a changed object), whose reviews do not carry over.
    pub replaces: Option<String>,
    /// The committee members chosen to review it: two, and a third who votes only when
    /// the two disagree.
    pub reviewers: Vec<String>,
}

/// One reviewer's vote on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The request.
    pub request: String,
    /// The reviewer.
    pub reviewer: String,
    /// The vote.
    pub vote: Vote,
    /// Their comment.
    pub comment: String,
    /// When.
    pub at: String,
}

/// The state after `votes` (in the order cast): two that agree decide; two that
/// disagree wait for a third, and three decide by majority (without one, the changes
/// asked for stand: neither approval nor refusal had two votes).
pub fn state_after(votes: &[Vote]) -> State {
    let decided = |v: Vote| match v {
        Vote::Approve => State::Approved,
        Vote::RequestChanges => State::ChangesRequested,
        Vote::Reject => State::Rejected,
    };
    match votes {
        [] | [_] => State::Submitted,
        [a, b] if a == b => decided(*a),
        [_, _] => State::Submitted,
        all => {
            for vote in [Vote::Approve, Vote::Reject, Vote::RequestChanges] {
                if all.iter().filter(|&&v| v == vote).count() >= 2 {
                    return decided(vote);
                }
            }
            State::ChangesRequested
        }
    }
}

/// Whether `reviewer` may cast `vote` on `request` with `reviews` already cast (the
/// reviewer's committee eligibility is decided apart, by `committee::eligibility`).
pub fn may_vote(
    request: &ExportRequest,
    reviews: &[Review],
    reviewer: &str,
    vote: Vote,
) -> Decision {
    if request.state.is_final() || request.state == State::Approved {
        return Decision::deny(
            Rule::Export,
            format!(
                "request {} is {}: a decided request never changes",
                request.id,
                request.state.as_str()
            ),
        );
    }
    let position = request.reviewers.iter().position(|r| r == reviewer);
    match position {
        None => {
            return Decision::deny(
                Rule::Conflict,
                format!(
                    "{reviewer} is not a reviewer of request {} (chosen: {})",
                    request.id,
                    request.reviewers.join(", ")
                ),
            );
        }
        Some(2) if reviews.len() < 2 => {
            return Decision::deny(
                Rule::Export,
                format!(
                    "{reviewer} breaks a tie on request {}: the first two reviewers have not both voted",
                    request.id
                ),
            );
        }
        _ => {}
    }
    if reviews.iter().any(|r| r.reviewer == reviewer) {
        return Decision::deny(
            Rule::Export,
            format!("{reviewer} has already voted on request {}", request.id),
        );
    }
    if reviews.len() >= 3 {
        return Decision::deny(
            Rule::Export,
            format!("request {} has its three votes", request.id),
        );
    }
    if vote == Vote::Approve && request.verdict == "fail" {
        return Decision::deny(
            Rule::Disclosure,
            format!(
                "request {} failed its automatic checks: it cannot be approved; the author makes it safe (suppress, round) and asks again",
                request.id
            ),
        );
    }
    Decision::allow(
        Rule::Export,
        format!("{reviewer} may vote on request {}", request.id),
    )
}

/// What a participant may see of the reviews: everything once two votes are in (or the
/// request is decided); before that a reviewer sees only their own vote, and the author
/// sees how many votes there are.
pub fn visible_reviews<'a>(reviews: &'a [Review], viewer: &str, state: State) -> Vec<&'a Review> {
    if reviews.len() >= 2 || state != State::Submitted {
        return reviews.iter().collect();
    }
    reviews.iter().filter(|r| r.reviewer == viewer).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_agreeing_votes_decide_and_a_third_breaks_a_tie() {
        use Vote::{Approve as A, Reject as R, RequestChanges as C};
        assert_eq!(state_after(&[A]), State::Submitted);
        assert_eq!(state_after(&[A, A]), State::Approved);
        assert_eq!(state_after(&[R, R]), State::Rejected);
        assert_eq!(state_after(&[A, R]), State::Submitted);
        assert_eq!(state_after(&[A, R, A]), State::Approved);
        assert_eq!(state_after(&[A, R, R]), State::Rejected);
        assert_eq!(state_after(&[A, R, C]), State::ChangesRequested);
    }

    #[test]
    fn votes_are_blind_until_two_are_in() {
        let review = |who: &str| Review {
            request: "r".into(),
            reviewer: who.into(),
            vote: Vote::Approve,
            comment: String::new(),
            at: String::new(),
        };
        let one = [review("a")];
        assert!(visible_reviews(&one, "b", State::Submitted).is_empty());
        assert_eq!(visible_reviews(&one, "a", State::Submitted).len(), 1);
        let two = [review("a"), review("b")];
        assert_eq!(visible_reviews(&two, "c", State::Submitted).len(), 2);
    }
}
