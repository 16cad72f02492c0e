// Word lists for the sorting and counting tasks. The held-out list shares no word with the training list,
// so held-out tasks ask about words the model never saw in these roles. All lowercase ASCII letters, none
// of them a word the question or answer templates use.

export const TRAIN_WORDS: readonly string[] = [
  'apple', 'banana', 'cherry', 'grape', 'lemon', 'mango', 'orange', 'peach', 'pear', 'plum', 'kiwi', 'melon',
  'papaya', 'apricot', 'coconut', 'strawberry', 'raspberry', 'blueberry', 'tomato', 'potato', 'carrot', 'onion',
  'garlic', 'pepper', 'celery', 'spinach', 'lettuce', 'cabbage', 'broccoli', 'pumpkin', 'zucchini', 'radish',
  'cat', 'dog', 'horse', 'rabbit', 'tiger', 'lion', 'zebra', 'giraffe', 'monkey', 'donkey', 'turtle', 'parrot',
  'eagle', 'falcon', 'penguin', 'dolphin', 'whale', 'shark', 'salmon', 'octopus', 'beetle', 'spider', 'butterfly',
  'kangaroo', 'koala', 'panda', 'camel', 'llama', 'sheep', 'goat', 'chicken', 'duck', 'goose', 'owl',
  'red', 'blue', 'green', 'yellow', 'purple', 'silver', 'golden', 'violet', 'scarlet', 'crimson', 'teal',
  'table', 'chair', 'window', 'door', 'pillow', 'blanket', 'mirror', 'candle', 'basket', 'bottle', 'kettle',
  'hammer', 'ladder', 'bucket', 'pencil', 'paper', 'notebook', 'eraser', 'marker', 'scissors', 'stapler',
  'river', 'mountain', 'forest', 'desert', 'island', 'valley', 'ocean', 'meadow', 'canyon', 'glacier', 'volcano',
  'summer', 'winter', 'autumn', 'spring', 'morning', 'evening', 'midnight', 'sunrise', 'sunset', 'thunder',
  'guitar', 'piano', 'violin', 'trumpet', 'drum', 'flute', 'banjo', 'cello', 'harp', 'tuba',
  'bread', 'butter', 'cheese', 'honey', 'sugar', 'coffee', 'cookie', 'muffin', 'pizza', 'pasta', 'noodle',
  'rocket', 'planet', 'comet', 'galaxy', 'meteor', 'orbit', 'crystal', 'diamond', 'pebble', 'marble',
  'mississippi', 'bookkeeper', 'committee', 'balloon', 'success', 'address', 'possession', 'assessment',
  'engineer', 'teacher', 'doctor', 'farmer', 'painter', 'dancer', 'sailor', 'pilot', 'baker', 'butcher',
];

export const HELDOUT_WORDS: readonly string[] = [
  'quince', 'lychee', 'guava', 'persimmon', 'tangerine', 'nectarine', 'gooseberry', 'cranberry', 'elderberry',
  'artichoke', 'asparagus', 'cauliflower', 'eggplant', 'parsnip', 'turnip', 'shallot', 'leek',
  'armadillo', 'hedgehog', 'porcupine', 'walrus', 'narwhal', 'flamingo', 'peacock', 'pelican', 'raccoon',
  'squirrel', 'chipmunk', 'beaver', 'otter', 'badger', 'weasel', 'jaguar', 'cheetah', 'leopard', 'gazelle',
  'magenta', 'turquoise', 'lavender', 'maroon', 'indigo', 'amber', 'ivory', 'charcoal',
  'wardrobe', 'cupboard', 'lantern', 'compass', 'umbrella', 'suitcase', 'telescope', 'microscope', 'thermometer',
  'harbor', 'lagoon', 'plateau', 'prairie', 'tundra', 'savanna', 'swamp', 'reef',
  'accordion', 'clarinet', 'saxophone', 'harmonica', 'xylophone', 'tambourine',
  'pancake', 'waffle', 'pretzel', 'biscuit', 'dumpling', 'omelette', 'yogurt', 'cinnamon',
  'nebula', 'asteroid', 'eclipse', 'quasar', 'satellite',
  'tennessee', 'bubblegum', 'keepsake', 'woodpecker', 'grasshopper', 'pepperoni',
];

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'cl', 'dr', 'fl', 'gr', 'pl', 'sh', 'st', 'tr', 'qu', 'x', 'y', ''];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ee', 'oo', 'ai', 'ea', 'ou', 'y'];
const CODAS = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'ck', 'nd', 'st', 'ss', 'x', 'p', 'g'];

/**
 * A made-up word for the training split (2-4 syllables of lowercase letters), never one of the held-out
 * words: with only the training list, the model learned the words themselves and wrote a training word
 * ("papaya") for any word it was asked about; made-up words can only be copied letter by letter.
 */
export function madeUpWord(next: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  for (;;) {
    let w = '';
    for (let i = 0, n = 2 + Math.floor(next() * 3); i < n; i++) w += pick(ONSETS) + pick(VOWELS) + pick(CODAS);
    if (w.length >= 3 && w.length <= 14 && !HELDOUT_WORDS.includes(w)) return w;
  }
}
