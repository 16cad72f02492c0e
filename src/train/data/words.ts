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
