export { ReviewScheduler, type ReviewCard, type ReviewRating, type ReviewSchedulerOptions } from './scheduler';
export { ReviewDeck, MAX_CARDS, resourceKey, type CardKey, type ReviewDeckJSON } from './deck';
export { quizRating, EASY_PACE, HARD_PACE, type RatedAttempt } from './rating';
export { withReviewSlots, DEFAULT_REVIEW_SLOTS, type DueReview, type ReviewSlotOptions } from './slots';
